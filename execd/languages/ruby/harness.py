"""Function mode for Ruby: the submission, then a call of its entry point with the JSON
arguments read from stdin; the reply ({"ok", "output"} or {"ok": false, "error"}) goes to fd 3."""

HARNESS = r'''

# -- execd function-mode harness ------------------------------------------------
require 'json'
__execd_reply = IO.new(3, 'w')
begin
  __execd_args = JSON.parse('[' + STDIN.read + ']')
  __execd_value = send(:%(entry)s, *__execd_args)
  __execd_reply.write(JSON.generate({ 'ok' => true, 'output' => JSON.generate(__execd_value) }))
rescue SystemExit
  __execd_reply.write(JSON.generate({ 'ok' => false, 'error' => 'SystemExit: exit called before the function returned' }))
  raise
rescue Exception => e
  __execd_reply.write(JSON.generate({ 'ok' => false, 'error' => "#{e.class}: #{e.message}"[0, 1000] }))
  STDERR.puts(e.full_message(highlight: false))
  exit 1
ensure
  STDOUT.flush
end
'''


def wrap(code, entry_point, signature=None):
    return code + HARNESS % {"entry": entry_point}
