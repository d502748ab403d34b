// `roost pub`: mosquitto_pub on Roost's client engine. One message from -m, -f, -s or -n (again
// with --repeat), or one per line of stdin with -l; then DISCONNECT. A refused publish (MQTT 5
// reason code 0x80 and up) is a warning, as in mosquitto_pub; a lost connection exits with 7.
import { ClientError, type ClientPublish, type MqttClient } from '../client'
import type { ToolConfig } from './args'
import { connectTool, publishProperties, ToolOutput, type ToolStreams } from './connect'
import { EXIT_CONNECTION_LOST, ToolFailure } from './errors'
import { reasonString } from './reasons'
import { singlePayload } from './payload'
import { Ending, runTool } from './run'

/** Sends PUBLISH messages numbered as mosquitto_pub counts them, and reports refusals as it does. */
class Publisher {
  private count = 0
  private readonly properties

  constructor (private readonly client: MqttClient, private readonly config: ToolConfig, private readonly output: ToolOutput) {
    this.properties = config.protocolVersion === 5 ? publishProperties(config.properties.publish) : undefined
  }

  async publish (payload: Buffer): Promise<void> {
    const { config } = this
    const number = ++this.count
    const message: ClientPublish = { topic: config.topic ?? '', payload, qos: config.qos, retain: config.retain }
    if (this.properties !== undefined) message.properties = this.properties
    this.output.debug(this.client, `sending PUBLISH (d0, q${config.qos}, r${config.retain ? 1 : 0}, m${number}, '${message.topic}', ... (${payload.length} bytes))`)
    try {
      await this.client.publish(message)
    } catch (error) {
      if (error instanceof ClientError && error.code === 'REFUSED' && error.reasonCode !== undefined) {
        this.output.error(`Warning: Publish ${number} failed: ${reasonString(error.reasonCode)}.`)
        return
      }
      if (error instanceof ClientError && (error.code === 'CLOSED' || error.code === 'NOT_CONNECTED')) {
        throw new ToolFailure('Error: The connection was lost.', EXIT_CONNECTION_LOST)
      }
      if (error instanceof ClientError && error.code === 'NOT_SUPPORTED') {
        throw new ToolFailure('Error: Message QoS not supported on broker, try a lower QoS.', 1)
      }
      throw new ToolFailure(`Error: ${error instanceof Error ? error.message : String(error)}`, 1)
    }
  }
}

/**
 * -l: a message per line, without its '\n' (a '\r' stays, as in mosquitto_pub), the last line
 * too when it has no newline. At most -M messages are awaited at once.
 */
async function publishLines (publisher: Publisher, streams: ToolStreams, window: number): Promise<void> {
  let pending: Array<Promise<void>> = []
  const send = async (line: Buffer): Promise<void> => {
    const sent = publisher.publish(line)
    // Handled by Promise.all below; this keeps an early failure from counting as unhandled.
    sent.catch(() => {})
    pending.push(sent)
    if (pending.length >= window) {
      const batch = pending
      pending = []
      await Promise.all(batch)
    }
  }
  let rest = Buffer.alloc(0)
  for await (const chunk of streams.stdin) {
    let buffer = Buffer.concat([rest, typeof chunk === 'string' ? Buffer.from(chunk) : chunk])
    let newline = buffer.indexOf(0x0a)
    while (newline >= 0) {
      await send(buffer.subarray(0, newline))
      buffer = buffer.subarray(newline + 1)
      newline = buffer.indexOf(0x0a)
    }
    rest = buffer
  }
  if (rest.length > 0) await send(rest)
  await Promise.all(pending)
}

async function publishWork (config: ToolConfig, streams: ToolStreams): Promise<number> {
  const payload = config.messageMode === 'stdin-line' ? undefined : await singlePayload(config, streams)
  const output = new ToolOutput(streams, config)
  // With -l the input may last long: a lost connection is made again, as mosquitto_pub does.
  let client
  try {
    client = await connectTool(config, output, config.messageMode === 'stdin-line')
  } catch (error) {
    // A refused CONNACK: mosquitto_pub adds its library's line for the refusal.
    if (error instanceof ToolFailure && error.exitCode > 1) throw new ToolFailure(`${error.message}\nError: The connection was refused.`, error.exitCode)
    throw error
  }
  output.reportErrors(client)
  const ending = new Ending(client, config, output)
  const publisher = new Publisher(client, config, output)
  try {
    if (payload === undefined) {
      await publishLines(publisher, streams, config.maxInflight)
    } else {
      for (let round = 0; round < config.repeatCount && !ending.ended; round++) {
        if (round > 0 && config.repeatDelaySec > 0) await new Promise((resolve) => setTimeout(resolve, config.repeatDelaySec * 1000))
        await publisher.publish(payload)
      }
    }
  } catch (error) {
    ending.finish(1, 0, true)
    await ending.wait()
    throw error
  }
  ending.finish(0)
  return await ending.wait()
}

/** Runs `roost pub <argv>` and resolves with its exit code. */
export async function runPub (argv: readonly string[], streams: ToolStreams): Promise<number> {
  return await runTool('pub', argv, streams, publishWork)
}
