// round_robin false: while a bridge is connected to a secondary address, its main address is
// tried now and then with a bare TCP connection (mosquitto.conf(5): "the bridge will periodically
// attempt to reconnect to the main bridge"); once it answers, the bridge moves back to it.
import net from 'node:net'
import type { BridgeAddress } from './settings'

export class MainAddressProbe {
  private timer: NodeJS.Timeout | undefined
  private socket: net.Socket | undefined

  constructor (private readonly main: BridgeAddress, private readonly periodMs: number, private readonly onReachable: () => void) {}

  get running (): boolean { return this.timer !== undefined || this.socket !== undefined }

  start (): void {
    if (this.running) return
    this.schedule()
  }

  stop (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.socket?.destroy()
    this.socket = undefined
  }

  private schedule (): void {
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.probe()
    }, this.periodMs)
    this.timer.unref()
  }

  private probe (): void {
    const socket = net.connect({ host: this.main.host, port: this.main.port })
    this.socket = socket
    socket.once('connect', () => {
      socket.destroy()
      if (this.socket !== socket) return
      this.socket = undefined
      this.onReachable()
    })
    socket.once('error', () => {
      socket.destroy()
      if (this.socket !== socket) return
      this.socket = undefined
      this.schedule()
    })
  }
}
