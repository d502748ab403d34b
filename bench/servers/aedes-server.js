// Starts Aedes 1.x for the bench behind a plain net server on the loopback port given, with
// Nagle off like the other brokers. Prints "ready <port>" once listening; SIGTERM closes it.
'use strict'
const net = require('node:net')

async function main () {
  const port = Number(process.argv[2] ?? 0)
  const { Aedes } = await import('aedes')
  const aedes = await Aedes.createBroker()
  const server = net.createServer({ noDelay: true }, aedes.handle)
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`ready ${server.address().port}\n`)
  })
  process.on('SIGTERM', () => {
    server.close()
    aedes.close(() => process.exit(0))
  })
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
