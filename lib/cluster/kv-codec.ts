// Values in the cluster's buckets, in the disk store's record format (lib/store/record-codec.ts):
// a retained message is a message record, a client's will is its session record. The frame's
// checksum guards each value; one that does not read back is reported, never half applied.
import { FieldReader, FrameWriter, readFrames } from '../store/frame'
import { decodeRecord, encodeMessage, encodeSessionSaved, type RecordSink } from '../store/record-codec'
import type { SessionRecord } from '../store/records'
import type { Message, Origin } from '../types'

export function messageToValue (message: Message): Buffer {
  const w = new FrameWriter(256 + message.payload.length + message.topic.length * 3)
  encodeMessage(w, message)
  return Buffer.from(w.bytes())
}

export function recordToValue (record: SessionRecord): Buffer {
  const w = new FrameWriter(1024)
  encodeSessionSaved(w, record)
  return Buffer.from(w.bytes())
}

/** The message a value holds; undefined when it holds none (damaged, or another record). */
export function valueToMessage (value: Uint8Array): Message | undefined {
  return decodeOne(value).message
}

/** The session record a value holds; undefined when it holds none. */
export function valueToRecord (value: Uint8Array): SessionRecord | undefined {
  return decodeOne(value).record
}

interface Decoded { message?: Message, record?: SessionRecord }

function decodeOne (value: Uint8Array): Decoded {
  const decoded: Decoded = {}
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  const origins = new Map<string, Origin>()
  const sink = capturingSink(decoded)
  try {
    readFrames(buf, (start, end) => { decodeRecord(new FieldReader(buf, start, end), sink, origins) }, () => {})
  } catch {
    return {}
  }
  return decoded
}

/** Keeps the one message or session record a value holds; a value has nothing else. */
function capturingSink (decoded: Decoded): RecordSink {
  const ignore = (): void => {}
  return {
    messageBody (message) { decoded.message = message },
    messageById: () => undefined,
    retainedSet: ignore,
    retainedRemoved: ignore,
    sessionSaved (record) { decoded.record = record },
    sessionRemoved: ignore,
    subscriptionSaved: ignore,
    subscriptionRemoved: ignore,
    queued: ignore,
    dequeued: ignore,
    inflightSaved: ignore,
    inflightRemoved: ignore,
    inboundQos2Added: ignore,
    inboundQos2Removed: ignore
  }
}
