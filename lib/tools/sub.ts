// `roost sub`: mosquitto_sub on Roost's client engine. Subscribes to every -t, unsubscribes -U,
// prints each message (-v, -F, -N), skips what -R and -T leave out, stops after -C messages, on
// -E once subscribed, with --retained-only at the first fresh message, or exits 27 when -W runs
// out. Lost connections are made again (the engine subscribes again), as mosquitto_sub does.
import type { ClientEvents, MqttClient, SubscribeProperties } from '../client'
import { topicMatches } from '../topics/validate'
import type { ToolConfig } from './args'
import { connectTool, ToolOutput, type ToolStreams } from './connect'
import { MessagePrinter } from './format'
import { Ending, runTool, writeOut } from './run'
import { userPropertyObject } from './properties'

type Received = ClientEvents['message'][0]

function subscriptionOptions (config: ToolConfig): { rap?: boolean, rh?: 0 | 1 | 2 } {
  if (config.protocolVersion !== 5) return {}
  const options: { rap?: boolean, rh?: 0 | 1 | 2 } = {}
  if (config.retainAsPublished) options.rap = true
  // -R: the server need not send retained messages at all (MQTT 5.0, 3.8.3.1, Retain Handling 2).
  if (config.noRetain) options.rh = 2
  return options
}

async function subscribe (client: MqttClient, config: ToolConfig, output: ToolOutput, ending: Ending): Promise<void> {
  const options = subscriptionOptions(config)
  for (const filter of config.filters) output.debug(client, `sending SUBSCRIBE (Topic: ${filter}, QoS: ${config.qos})`)
  const { values, userProperties } = config.properties.subscribe
  const properties: SubscribeProperties = {}
  if (values.subscriptionIdentifier !== undefined) properties.subscriptionIdentifier = values.subscriptionIdentifier as number
  const user = userPropertyObject(userProperties)
  if (user !== undefined) properties.userProperties = user
  const codes = await client.subscribe(config.filters.map((filter) => ({ filter, qos: config.qos, ...options })),
    Object.keys(properties).length > 0 ? properties : undefined)
  if (config.debug) writeOut(output.streams, Buffer.from(`Subscribed (mid: 1): ${codes.join(', ')}\n`), ending)
  if (codes.every((code) => code >= 0x80)) {
    output.error('All subscription requests were denied.')
    ending.finish(0)
    return
  }
  if (config.exitAfterSubscribe) ending.finish(0)
}

/** One message through -R, -T, --retained-only, --remove-retained, --random-filter and -C. */
class MessageHandler {
  private readonly printer: MessagePrinter
  private printed = 0
  private readonly removals: Array<Promise<void>> = []

  constructor (private readonly client: MqttClient, private readonly config: ToolConfig, private readonly output: ToolOutput, private readonly ending: Ending) {
    this.printer = new MessagePrinter({ format: config.format, verbose: config.verbose, eol: config.eol, pretty: config.pretty })
  }

  onMessage (message: Received): void {
    const { config } = this
    if (this.ending.ended) return
    this.output.debug(this.client, `received PUBLISH (d${message.dup ? 1 : 0}, q${message.qos}, r${message.retain ? 1 : 0}, m${message.messageId ?? 0}, '${message.topic}', ... (${message.payload.length} bytes))`)
    if (config.retainedOnly && !message.retain) {
      this.stop()
      return
    }
    if (message.retain && config.noRetain) return
    if (config.filterOut.some((filter) => topicMatches(filter, message.topic))) return
    if (config.removeRetained && message.retain) {
      this.removals.push(this.client.publish({ topic: message.topic, payload: Buffer.alloc(0), qos: 1, retain: true }).catch(() => {}))
    }
    if (config.randomFilter < 1000 && Math.random() * 1000 >= config.randomFilter) return
    const printed = this.printer.print(message)
    writeOut(this.output.streams, printed.bytes, this.ending)
    if (printed.error !== undefined) this.output.error(printed.error)
    if (config.messageCount > 0) {
      this.printed++
      if (this.printed === config.messageCount) this.stop()
    }
  }

  /** Ends the run once the retained messages being removed are acknowledged. */
  private stop (): void {
    void Promise.all(this.removals).then(() => this.ending.finish(0))
  }
}

async function subscribeWork (config: ToolConfig, streams: ToolStreams): Promise<number> {
  const output = new ToolOutput(streams, config)
  const client = await connectTool(config, output, true)
  const ending = new Ending(client, config, output)
  const handler = new MessageHandler(client, config, output, ending)
  client.on('message', (message) => handler.onMessage(message))
  output.reportErrors(client)
  // SUBSCRIBE goes out first, then one UNSUBSCRIBE per -U, as mosquitto_sub sends them.
  subscribe(client, config, output, ending).catch((error: unknown) => {
    if (!ending.ended) output.error(`Error: ${error instanceof Error ? error.message : String(error)}`)
  })
  for (const filter of config.unsubscribe) {
    output.debug(client, `sending UNSUBSCRIBE (Topic: ${filter})`)
    client.unsubscribe(filter).catch(() => {})
  }
  return await ending.wait()
}

/** Runs `roost sub <argv>` and resolves with its exit code. */
export async function runSub (argv: readonly string[], streams: ToolStreams): Promise<number> {
  return await runTool('sub', argv, streams, subscribeWork)
}
