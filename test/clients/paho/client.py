"""Drives the broker with Debian's paho-mqtt (1.6, or 2.x with 1.x callbacks) and prints what
happened as one JSON object.

Usage: /usr/bin/python3 client.py <scenario> <port> [mqttv31|mqttv311]
Scenarios: roundtrip (QoS 0, 1, 2), retained, will. Every wait is bounded; a wait that runs out
ends the script with exit code 2 and a JSON object naming what never happened.
"""
import json
import sys
import threading

import paho.mqtt
import paho.mqtt.client as mqtt

HOST = "127.0.0.1"
WAIT_SEC = 10
PROTOCOLS = {"mqttv31": mqtt.MQTTv31, "mqttv311": mqtt.MQTTv311}


def give_up(what):
    print(json.dumps({"error": "timed out waiting for " + what}))
    sys.exit(2)


def wait(event, what):
    if not event.wait(WAIT_SEC):
        give_up(what)


def new_client(client_id, protocol):
    """Debian bookworm ships paho 1.6; paho 2.x needs the 1.x callback signatures asked for."""
    if hasattr(mqtt, "CallbackAPIVersion"):
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id=client_id, clean_session=True, protocol=protocol)
    return mqtt.Client(client_id=client_id, clean_session=True, protocol=protocol)


class Recorder:
    """A paho client that records CONNACK, SUBACK, acknowledged publishes and messages."""

    def __init__(self, client_id, port, protocol, will=None):
        self.messages = []
        self.expected = 0
        self.enough = threading.Event()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.connack = None
        self.granted = None
        self.client = new_client(client_id, protocol)
        if will is not None:
            self.client.will_set(will["topic"], will["payload"], qos=will["qos"], retain=will["retain"])
        self.client.on_connect = self.on_connect
        self.client.on_subscribe = self.on_subscribe
        self.client.on_message = self.on_message
        self.client.connect(HOST, port, keepalive=30)

    def on_connect(self, client, userdata, flags, rc):
        self.connack = {"rc": rc, "session_present": flags.get("session present", 0)}
        self.connected.set()

    def on_subscribe(self, client, userdata, mid, granted_qos):
        self.granted = list(granted_qos)
        self.subscribed.set()

    def on_message(self, client, userdata, message):
        self.messages.append({
            "topic": message.topic,
            "payload_hex": message.payload.hex(),
            "qos": message.qos,
            "retain": bool(message.retain),
        })
        if len(self.messages) >= self.expected:
            self.enough.set()

    def start(self):
        self.client.loop_start()
        wait(self.connected, "CONNACK")
        return self

    def subscribe(self, topic_filter, qos):
        self.client.subscribe(topic_filter, qos)
        wait(self.subscribed, "SUBACK")

    def expect(self, count):
        self.expected = count
        if len(self.messages) >= count:
            self.enough.set()

    def wait_for_messages(self):
        wait(self.enough, "%d messages" % self.expected)

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()


def publish_and_wait(recorder, topic, payload, qos, retain=False):
    """Publishes and waits until paho reports it done: PUBACK for QoS 1, PUBCOMP for QoS 2."""
    info = recorder.client.publish(topic, payload, qos=qos, retain=retain)
    info.wait_for_publish(WAIT_SEC)
    if not info.is_published():
        give_up("the QoS %d publish to %s to complete" % (qos, topic))
    return info.rc


def roundtrip(port, protocol):
    subscriber = Recorder("paho-rt-sub", port, protocol).start()
    subscriber.subscribe("paho/rt/#", 2)
    publisher = Recorder("paho-rt-pub", port, protocol).start()
    subscriber.expect(3)
    codes = [publish_and_wait(publisher, "paho/rt/%d" % qos, bytes(range(256)) if qos == 1 else b"qos %d" % qos, qos) for qos in (0, 1, 2)]
    subscriber.wait_for_messages()
    publisher.stop()
    subscriber.stop()
    return {"connack": subscriber.connack, "granted": subscriber.granted, "publish_rc": codes, "messages": subscriber.messages}


def retained(port, protocol):
    publisher = Recorder("paho-ret-pub", port, protocol).start()
    publish_and_wait(publisher, "paho/ret/a", b"kept", 1, retain=True)
    live = Recorder("paho-ret-live", port, protocol).start()
    live.subscribe("paho/ret/#", 1)
    # The live subscriber gets the retained message at once, then a plain copy of the next one.
    live.expect(2)
    publish_and_wait(publisher, "paho/ret/b", b"also kept", 1, retain=True)
    live.wait_for_messages()
    late = Recorder("paho-ret-late", port, protocol).start()
    late.expect(2)
    late.subscribe("paho/ret/#", 1)
    late.wait_for_messages()
    for recorder in (publisher, live, late):
        recorder.stop()
    return {"live": live.messages, "late": sorted(late.messages, key=lambda m: m["topic"])}


def will(port, protocol):
    watcher = Recorder("paho-will-watch", port, protocol).start()
    watcher.subscribe("paho/will/#", 1)
    watcher.expect(1)
    doomed = Recorder("paho-will-doomed", port, protocol,
                      will={"topic": "paho/will/doomed", "payload": b"gone without a word", "qos": 1, "retain": False})
    # No network thread for the doomed client: drive it by hand until CONNACK, then close its
    # socket without DISCONNECT, as a crash or a pulled cable would.
    for _ in range(100):
        if doomed.connected.is_set():
            break
        doomed.client.loop(0.1)
    if not doomed.connected.is_set():
        give_up("CONNACK of the doomed client")
    doomed.client.socket().close()
    watcher.wait_for_messages()
    watcher.stop()
    return {"connack": doomed.connack, "messages": watcher.messages}


SCENARIOS = {"roundtrip": roundtrip, "retained": retained, "will": will}

if __name__ == "__main__":
    scenario, port = sys.argv[1], int(sys.argv[2])
    protocol = PROTOCOLS[sys.argv[3] if len(sys.argv) > 3 else "mqttv311"]
    result = SCENARIOS[scenario](port, protocol)
    result["paho_version"] = paho.mqtt.__version__
    print(json.dumps(result))
