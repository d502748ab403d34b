// A `log_dest file`: lines appended with synchronous writes, so nothing is lost when the process
// exits right after logging, and reopened on demand (SIGHUP) so logrotate can move the file away
// and have the next line start a new one.
import { closeSync, openSync, writeSync } from 'node:fs'
import { describeFsError } from './lines'

/** As Mosquitto creates its log file: readable and writable by the broker's user only (before umask). */
const LOG_FILE_MODE = 0o600

export class LogFile {
  private fd: number
  /** A write failed and was reported; the next failure stays quiet until a write succeeds. */
  private failing = false

  /** Opens (creating if needed) the file for appending; throws the system's error. */
  constructor (readonly path: string, private readonly reportError: (message: string) => void) {
    this.fd = openSync(path, 'a', LOG_FILE_MODE)
  }

  /** Appends one line. A full disk or a lost file is reported once, never thrown: logging must not stop the broker. */
  write (line: string): void {
    try {
      writeSync(this.fd, line)
      this.failing = false
    } catch (error) {
      if (this.failing) return
      this.failing = true
      this.reportError(`cannot write to log file '${this.path}': ${describeFsError(error)}`)
    }
  }

  /**
   * Opens the path again and writes there from now on (after a rename, a new file). When it
   * cannot be opened the old file stays in use, so no line is lost; the error is returned.
   */
  reopen (): string | undefined {
    let fd: number
    try {
      fd = openSync(this.path, 'a', LOG_FILE_MODE)
    } catch (error) {
      return `cannot reopen log file '${this.path}': ${describeFsError(error)}`
    }
    const old = this.fd
    this.fd = fd
    this.failing = false
    closeQuietly(old)
    return undefined
  }

  close (): void {
    closeQuietly(this.fd)
  }
}

function closeQuietly (fd: number): void {
  try { closeSync(fd) } catch { /* already closed: nothing to release */ }
}
