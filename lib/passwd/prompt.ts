// Reads passwords for `roost passwd` when they are not on the command line. On a terminal the
// typed characters are not echoed; otherwise (a pipe, a file) each password is the next line of
// standard input, as mosquitto_passwd reads it.

/** Ctrl-C while a password was being typed: nothing is written. */
export class PromptInterrupted extends Error {
  constructor () {
    super('interrupted')
    this.name = 'PromptInterrupted'
  }
}

const CTRL_C = '\u0003'
const CTRL_D = '\u0004'
const BACKSPACE = '\u0008'
const DELETE = '\u007f'

export class PasswordReader {
  private buffered = ''
  private ended = false
  private wake: (() => void) | undefined

  constructor (private readonly input: NodeJS.ReadStream, private readonly output: NodeJS.WritableStream) {
    input.setEncoding('utf8')
    input.on('data', (text: string) => { this.buffered += text; this.notify() })
    input.on('end', () => { this.ended = true; this.notify() })
    input.pause()
  }

  /**
   * Shows the prompt and reads one password: undefined when the input ended first. Throws
   * PromptInterrupted on Ctrl-C at a terminal.
   */
  async read (prompt: string): Promise<string | undefined> {
    const terminal = this.input.isTTY
    // Raw mode before the prompt shows, so nothing typed is echoed; and every key reaches us,
    // so Ctrl-C restores the terminal (in close()) before the command ends.
    if (terminal && !this.input.isRaw) this.input.setRawMode(true)
    this.output.write(prompt)
    this.input.resume()
    try {
      return terminal ? await this.readKeys() : await this.readLine()
    } finally {
      this.input.pause()
      this.output.write('\n')
    }
  }

  /** Gives the terminal back as it was. */
  close (): void {
    if (this.input.isTTY && this.input.isRaw) this.input.setRawMode(false)
  }

  private notify (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private async more (): Promise<void> {
    await new Promise<void>((resolve) => { this.wake = resolve })
  }

  private async readLine (): Promise<string | undefined> {
    for (;;) {
      const newline = this.buffered.indexOf('\n')
      if (newline !== -1) {
        const line = this.buffered.slice(0, newline)
        this.buffered = this.buffered.slice(newline + 1)
        return line.endsWith('\r') ? line.slice(0, -1) : line
      }
      if (this.ended) {
        const rest = this.buffered
        this.buffered = ''
        return rest === '' ? undefined : rest
      }
      await this.more()
    }
  }

  private async readKeys (): Promise<string | undefined> {
    let typed = ''
    for (;;) {
      while (this.buffered !== '') {
        const key = this.buffered[0] as string
        this.buffered = this.buffered.slice(1)
        if (key === '\r' || key === '\n') return typed
        if (key === CTRL_C) throw new PromptInterrupted()
        if (key === CTRL_D && typed === '') return undefined
        if (key === BACKSPACE || key === DELETE) typed = Array.from(typed).slice(0, -1).join('')
        else if (key >= ' ') typed += key
      }
      if (this.ended) return typed === '' ? undefined : typed
      await this.more()
    }
  }
}
