// Starts Aedes 1.x for the bench behind a plain net server on the loopback port given, with
// Nagle off like the other brokers, or behind a TLS server when a certificate and key file follow
// the port. Prints "ready <port>" once listening; SIGTERM closes it.
'use strict'
const { readFileSync } = require('node:fs')
const net = require('node:net')
const tls = require('node:tls')

async function main () {
  const port = Number(process.argv[2] ?? 0)
  const { Aedes } = await import('aedes')
  const aedes = await Aedes.createBroker()
  const [certfile, keyfile] = process.argv.slice(3)
  const server = certfile === undefined
    ? net.createServer({ noDelay: true }, aedes.handle)
    : tls.createServer({ cert: readFileSync(certfile), key: readFileSync(keyfile), noDelay: true }, aedes.handle)
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
