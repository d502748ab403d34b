"""Python paho-mqtt over TLS: connects with a CA and optionally a client certificate, subscribes,
publishes one QoS 1 message to itself and prints what happened as one JSON object.

Usage: /usr/bin/python3 tls.py <port> <ca file> [<cert file> <key file>]
Every wait is bounded; a wait that runs out ends the script with exit code 2.
"""
import json
import ssl
import sys
import threading

import paho.mqtt.client as mqtt

WAIT_SEC = 10


def main():
    port = int(sys.argv[1])
    ca = sys.argv[2]
    cert, key = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else (None, None)
    if hasattr(mqtt, "CallbackAPIVersion"):
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id="paho-tls")
    else:
        client = mqtt.Client(client_id="paho-tls")
    client.tls_set(ca_certs=ca, certfile=cert, keyfile=key, cert_reqs=ssl.CERT_REQUIRED)
    connected = threading.Event()
    subscribed = threading.Event()
    received = threading.Event()
    result = {}

    def on_connect(c, userdata, flags, rc):
        result["connack"] = rc
        connected.set()

    def on_subscribe(c, userdata, mid, granted):
        result["granted"] = list(granted)
        subscribed.set()

    def on_message(c, userdata, message):
        result["message"] = {"topic": message.topic, "payload": message.payload.decode(), "qos": message.qos}
        received.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()

    def wait(event, what):
        if not event.wait(WAIT_SEC):
            print(json.dumps({"error": "timed out waiting for " + what}))
            sys.exit(2)

    try:
        wait(connected, "CONNACK")
        if result["connack"] == 0:
            client.subscribe("paho/tls", qos=1)
            wait(subscribed, "SUBACK")
            client.publish("paho/tls", "sealed", qos=1)
            wait(received, "message")
            client.disconnect()
    finally:
        client.loop_stop()
    print(json.dumps(result))


main()
