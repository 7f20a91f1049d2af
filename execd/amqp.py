"""RabbitMQ plumbing: connection parameters, topology, confirmed publishing.

Knows nothing of job semantics. pika's errors are translated into ours here:
channel errors (topology, permissions) are `BrokerTopologyError`, a bug or a
misconfiguration that reconnecting will not fix; connection errors are
`BrokerUnavailable`, which reconnecting will.
"""
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


def delivery_count(method, properties):
    """How often this job was redelivered before: the broker's count when it
    keeps one (quorum queues), else the count we carried in a header."""
    headers = properties.headers or {}
    if "x-delivery-count" in headers:
        try:
            return int(headers["x-delivery-count"]), True
        except (TypeError, ValueError):
            pass
    try:
        carried = int(headers.get(REDELIVERIES_HEADER, 0))
    except (TypeError, ValueError):
        carried = 0
    return carried + (1 if method.redelivered else 0), False
