"""Function mode for PHP: the submission (which starts with <?php), then a call of its entry
point with the JSON arguments read from stdin; the reply goes to fd 3."""

HARNESS = r'''
// -- execd function-mode harness -----------------------------------------------
$__execd_reply = fopen('php://fd/3', 'w');
try {
    $__execd_args = json_decode('[' . stream_get_contents(STDIN) . ']', true, 512, JSON_THROW_ON_ERROR);
    if (!function_exists('%(entry)s')) {
        throw new Error("entry point '%(entry)s' is not a function");
    }
    $__execd_value = %(entry)s(...$__execd_args);
    $__execd_out = json_encode($__execd_value, JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR);
    fwrite($__execd_reply, json_encode(['ok' => true, 'output' => $__execd_out]));
} catch (Throwable $e) {
    fwrite($__execd_reply, json_encode(['ok' => false, 'error' => substr(get_class($e) . ': ' . $e->getMessage(), 0, 1000)]));
    fwrite(STDERR, (string) $e . "\n");
    exit(1);
}
'''


def wrap(code, entry_point, signature=None):
    # The harness must be in PHP mode: after a closing ?> it opens a new block.
    tail = code.rstrip()
    reopen = tail.endswith("?>") or tail.rfind("?>") > tail.rfind("<?php")
    return code + ("\n<?php\n" if reopen else "\n") + HARNESS % {"entry": entry_point}
