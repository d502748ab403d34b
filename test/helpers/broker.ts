// Starts a broker on a free loopback port for one test and tears everything down after it:
// every client socket the test opened, then the broker itself.
import type { TestContext } from 'node:test'
import { type Broker, type BrokerHooks, type BrokerOptions, createBroker, type Logger } from '../../lib'
import { type ConnectOptions, RawClient } from './raw-client'

/** Keeps every log line, so a test can assert that a limit was logged. */
export class RecordingLogger implements Logger {
  readonly lines: string[] = []
  debug (line: string): void { this.lines.push(line) }
  info (line: string): void { this.lines.push(line) }
  notice (line: string): void { this.lines.push(line) }
  warning (line: string): void { this.lines.push(line) }
  error (line: string): void { this.lines.push(line) }
}

export interface Harness {
  broker: Broker
  port: number
  log: RecordingLogger
  /** Opens a socket and sends nothing. */
  open (protocolVersion?: 3 | 4 | 5): Promise<RawClient>
  /** Opens a socket, sends CONNECT and expects CONNACK 0 with `sessionPresent`. */
  client (options?: ConnectOptions, sessionPresent?: boolean): Promise<RawClient>
}

export async function startBroker (t: TestContext, options: Partial<BrokerOptions> = {}, hooks: BrokerHooks = {}): Promise<Harness> {
  const log = new RecordingLogger()
  const broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }], ...options }, { logger: log, ...hooks })
  const [address] = await broker.listen()
  if (address === undefined) throw new Error('the broker bound no listener')
  const clients: RawClient[] = []
  t.after(async () => {
    await Promise.all(clients.map((client) => client.destroy()))
    await broker.close()
  })
  const open = async (protocolVersion: 3 | 4 | 5 = 4): Promise<RawClient> => {
    const client = await RawClient.open(address.port, protocolVersion)
    clients.push(client)
    return client
  }
  return {
    broker,
    port: address.port,
    log,
    open,
    client: async (connectOptions: ConnectOptions = {}, sessionPresent = false) => {
      const client = await open(connectOptions.protocolVersion ?? 4)
      await client.connect(connectOptions, sessionPresent)
      return client
    }
  }
}
