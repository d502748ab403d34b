// Starts Roost for the bench: one loopback listener on the port given, queues large enough that
// the bench's bounded flows never hit them (the same settings the Mosquitto column gets).
// Prints "ready <port>" once listening; SIGTERM closes it.
import { createBroker } from '../../lib'

async function main (): Promise<void> {
  const port = Number(process.argv[2] ?? 0)
  const broker = createBroker({
    listeners: [{ port, host: '127.0.0.1' }],
    maxQueuedMessages: 100_000
  })
  const [bound] = await broker.listen()
  process.stdout.write(`ready ${bound?.port ?? port}\n`)
  process.on('SIGTERM', () => { broker.close().then(() => process.exit(0), () => process.exit(1)) })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
