// Presence from topics: how devices announce themselves with birth and Last Will messages.
// A pattern is an MQTT filter in which one level, written {device}, names the device.

export interface PresencePattern {
  /** Filter with one `{device}` level, e.g. `tele/{device}/LWT`. */
  topic: string
  /** Payloads meaning online / offline, compared without case and surrounding spaces. */
  online: string[]
  offline: string[]
}

/** Ready-made patterns for the firmware and hubs people wire through Node-RED. */
export const PRESENCE_PRESETS: Record<string, PresencePattern> = {
  // Tasmota: `tele/<topic>/LWT` is "Online" once connected; its Last Will says "Offline".
  tasmota: { topic: 'tele/{device}/LWT', online: ['online'], offline: ['offline'] },
  // Homie 3/4: `homie/<device>/$state`; lost is what its Last Will sets.
  homie: { topic: 'homie/{device}/$state', online: ['ready', 'init', 'alert'], offline: ['lost', 'disconnected', 'sleeping'] },
  // Home Assistant availability, as Zigbee2MQTT and many integrations publish it.
  homeassistant: { topic: '+/{device}/availability', online: ['online'], offline: ['offline'] },
  // ESPHome and others: `<device>/status` online/offline.
  esphome: { topic: '{device}/status', online: ['online'], offline: ['offline'] }
}

const DEVICE = '{device}'

/** A pattern made ready for matching: its subscription filter and where the device level is. */
export class CompiledPattern {
  readonly filter: string
  private readonly levels: string[]
  private readonly deviceLevel: number
  private readonly online: Set<string>
  private readonly offline: Set<string>

  constructor (pattern: PresencePattern) {
    this.levels = pattern.topic.split('/')
    this.deviceLevel = this.levels.indexOf(DEVICE)
    if (this.deviceLevel === -1 || this.levels.lastIndexOf(DEVICE) !== this.deviceLevel) {
      throw new Error(`presence topic "${pattern.topic}" must have exactly one {device} level`)
    }
    if (this.levels.slice(0, this.deviceLevel).includes('#')) throw new Error(`presence topic "${pattern.topic}" has '#' before {device}`)
    this.filter = this.levels.map((level) => level === DEVICE ? '+' : level).join('/')
    this.online = new Set(pattern.online.map(normalize))
    this.offline = new Set(pattern.offline.map(normalize))
  }

  /** The device a topic names, or undefined when the topic does not fit the pattern. */
  device (topic: string): string | undefined {
    const parts = topic.split('/')
    for (let i = 0; i < this.levels.length; i++) {
      const level = this.levels[i] as string
      if (level === '#') return parts[this.deviceLevel]
      if (i >= parts.length) return undefined
      if (level !== '+' && level !== DEVICE && level !== parts[i]) return undefined
    }
    return parts.length === this.levels.length ? parts[this.deviceLevel] : undefined
  }

  /**
   * What a payload says: true online, false offline, undefined neither. A JSON object with a
   * `state` or `status` field (Zigbee2MQTT's availability) is read by that field.
   */
  state (payload: Buffer | string): boolean | undefined {
    let text = normalize(typeof payload === 'string' ? payload : payload.toString('utf8'))
    if (text.startsWith('{')) {
      try {
        const parsed = JSON.parse(text) as Record<string, unknown>
        const field = parsed.state ?? parsed.status
        if (typeof field === 'string') text = normalize(field)
      } catch {
        return undefined
      }
    }
    if (this.online.has(text)) return true
    if (this.offline.has(text)) return false
    return undefined
  }
}

function normalize (text: string): string {
  return text.trim().toLowerCase()
}
