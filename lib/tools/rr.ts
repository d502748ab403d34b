// `roost rr`: mosquitto_rr on Roost's client engine, MQTT 5 request / response (MQTT 5.0, 4.10).
// Subscribes to the response topic (-e), publishes the request with that Response Topic, prints
// the first message that comes back, and exits; 27 when -W runs out, 7 when the connection goes.
import type { ClientPublish } from '../client'
import type { ToolConfig } from './args'
import { connectTool, publishProperties, ToolOutput, type ToolStreams } from './connect'
import { EXIT_CONNECTION_LOST } from './errors'
import { MessagePrinter } from './format'
import { singlePayload } from './payload'
import { reasonString } from './reasons'
import { Ending, runTool, writeOut } from './run'

async function requestWork (config: ToolConfig, streams: ToolStreams): Promise<number> {
  const payload = await singlePayload(config, streams)
  const output = new ToolOutput(streams, config)
  const client = await connectTool(config, output, false)
  const ending = new Ending(client, config, output)
  const printer = new MessagePrinter({ format: config.format, verbose: config.verbose, eol: config.eol, pretty: config.pretty })
  client.on('message', (message) => {
    if (ending.ended) return
    const printed = printer.print(message)
    writeOut(streams, printed.bytes, ending)
    if (printed.error !== undefined) output.error(printed.error)
    ending.finish(0)
  })
  output.reportErrors(client)
  client.on('close', () => {
    if (ending.ended) return
    output.error('Error: The connection was lost.')
    ending.finish(EXIT_CONNECTION_LOST, 0, true)
  })
  const responseTopic = config.responseTopic ?? ''
  output.debug(client, `sending SUBSCRIBE (Topic: ${responseTopic}, QoS: ${config.qos})`)
  const [granted = 0x80] = await client.subscribe({ filter: responseTopic, qos: config.qos })
  if (granted >= 0x80) {
    output.error(reasonString(granted))
    ending.finish(0)
    return await ending.wait()
  }
  const request: ClientPublish = { topic: config.topic ?? '', payload, qos: config.qos, retain: false }
  // Before MQTT 5 there are no properties: the responder has to know the response topic.
  if (config.protocolVersion === 5) request.properties = { ...publishProperties(config.properties.publish), responseTopic }
  output.debug(client, `sending PUBLISH (d0, q${config.qos}, r0, m1, '${request.topic}', ... (${payload.length} bytes))`)
  client.publish(request).catch(() => {})
  return await ending.wait()
}

/** Runs `roost rr <argv>` and resolves with its exit code. */
export async function runRr (argv: readonly string[], streams: ToolStreams): Promise<number> {
  return await runTool('rr', argv, streams, requestWork)
}
