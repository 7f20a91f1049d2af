"""RabbitMQ plumbing: connection parameters, topology, confirmed publishing.

Knows nothing of job semantics. pika's errors are translated into ours here:
channel errors (topology, permissions) are `BrokerTopologyError`, a bug or a
misconfiguration that reconnecting will not fix; connection errors are
`BrokerUnavailable`, which reconnecting will.
"""
import hashlib
import hmac

import pika
import pika.exceptions

from execd.errors import ExecdError

PERSISTENT = 2
JSON = "application/json"
REDELIVERIES_HEADER = "x-execd-redeliveries"


class BrokerUnavailable(ExecdError):
    code = "internal_error"


class BrokerTopologyError(ExecdError):
    code = "internal_error"


def parameters(url, heartbeat=30):
    params = pika.URLParameters(url)
    params.heartbeat = heartbeat
    params.blocked_connection_timeout = 30
    params.connection_attempts = 1
    params.socket_timeout = 5
    return params


def connect(url, heartbeat=30):
    try:
        return pika.BlockingConnection(parameters(url, heartbeat))
    except pika.exceptions.AMQPError as e:
        raise BrokerUnavailable("cannot connect to the broker: %r" % e) from e
    except OSError as e:
        raise BrokerUnavailable("cannot connect to the broker: %s" % e) from e


def declare_topology(connection, settings):
    """Declare the queues when absent; an existing queue is used as it is.

    Returns a fresh channel (a failed passive declare closes the one it used).
    A queue we create dead-letters rejected messages to the dead-letter
    queue through the default exchange.
    """
    jobs_queue, results_queue, dead_queue = settings.queue_names()
    wanted = (
        (dead_queue, None),
        (results_queue, None),
        (jobs_queue, {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead_queue}),
    )
    channel = connection.channel()
    for name, arguments in wanted:
        try:
            channel.queue_declare(name, passive=True)
        except pika.exceptions.ChannelClosedByBroker as e:
            if e.reply_code != 404:
                raise BrokerTopologyError("queue %s: %s" % (name, e.reply_text)) from e
            channel = connection.channel()
            try:
                channel.queue_declare(name, durable=True, arguments=arguments)
            except pika.exceptions.ChannelClosedByBroker as e2:
                raise BrokerTopologyError("cannot declare queue %s: %s" % (name, e2.reply_text)) from e2
    return channel


def publish_json(channel, routing_key, body, correlation_id, headers=None):
    """Persistent, mandatory, confirmed publish through the default exchange.

    Raises pika.exceptions.UnroutableError when no queue takes it and
    NackError when the broker refuses it.
    """
    properties = pika.BasicProperties(content_type=JSON, delivery_mode=PERSISTENT,
                                      correlation_id=correlation_id, headers=headers)
    channel.basic_publish("", routing_key, body, properties, mandatory=True)


def delivery_key(settings):
    """The key that signs execd's own redelivery counts.

    DELIVERY_KEY when set; otherwise derived from the broker URL, which holds
    the broker password and is shared by every worker of an installation.
    """
    secret = settings.delivery_key or "execd-delivery-count:" + settings.amqp_url
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _count_mac(key, count, body):
    return hmac.new(key, b"%d\n" % count + bytes(body), hashlib.sha256).hexdigest()[:32]


def signed_count(key, count, body):
    """The header value that carries `count` for this body: "<count>.<mac>"."""
    return "%d.%s" % (count, _count_mac(key, count, body))


def carried_count(headers, key, body):
    """The count execd carried on this body, or 0 when the header is absent or not ours.

    A publisher can set any header, but without the key it cannot make one
    that verifies, and a valid one only ever moves its own body's count up.
    """
    value = (headers or {}).get(REDELIVERIES_HEADER)
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str) or len(value) > 64:
        return 0
    count, _, mac = value.partition(".")
    if not count.isdigit() or len(count) > 6:
        return 0
    if not hmac.compare_digest(mac, _count_mac(key, int(count), body)):
        return 0
    return int(count)


def delivery_count(method, properties, body, key, ceiling):
    """How often this job was delivered before, from execd's signed count and the
    broker's redelivered flag; never from a header a publisher could set, and
    clamped to [0, ceiling]. (x-delivery-count is ignored: on a classic queue it
    is just a header anyone can write.)"""
    count = carried_count(properties.headers, key, body) + (1 if method.redelivered else 0)
    return max(0, min(count, ceiling))
