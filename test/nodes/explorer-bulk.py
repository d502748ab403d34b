# Publishes retained messages on many topics in one connection, for the topic explorer's browser
# test: house/room<r>/sensor<s> with a small JSON reading each, then house/config (nested JSON).
# Usage: explorer-bulk.py <port> <rooms> <sensors per room>. Exits 0 once the broker has them all:
# the last message is QoS 1, and the broker takes one connection's messages in order.
import json
import sys

import paho.mqtt.client as mqtt

port, rooms, sensors = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
client = mqtt.Client(client_id="explorer-bulk", protocol=mqtt.MQTTv311)
client.max_queued_messages_set(0)
client.connect("127.0.0.1", port, keepalive=30)
client.loop_start()
for room in range(rooms):
    for sensor in range(sensors):
        client.publish(f"house/room{room}/sensor{sensor}", json.dumps({"t": 20 + (room * sensors + sensor) % 10, "unit": "C"}), qos=0, retain=True)
config = {"name": "house", "floors": [{"level": 0, "rooms": ["hall", "kitchen"]}, {"level": 1, "rooms": ["bed"]}], "online": True}
last = client.publish("house/config", json.dumps(config), qos=1, retain=True)
last.wait_for_publish(timeout=60)
ok = last.is_published()
client.loop_stop()
client.disconnect()
sys.exit(0 if ok else 1)
