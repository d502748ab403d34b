"""Runs a command in a pseudo-terminal and types one answer after each prompt it shows, as a
person at a terminal would. Prints JSON: everything the terminal showed, and the exit code.

Usage: /usr/bin/python3 pty-answer.py '<json list of [prompt, answer]>' command [args...]
An answer may contain control characters (a DEL to rub out, a Ctrl-C to interrupt).
Every wait is bounded: a prompt that never shows ends the run with what was seen.
"""
import json
import os
import pty
import select
import sys
import time

WAIT_SECONDS = 5.0


def main():
    exchanges = json.loads(sys.argv[1])
    command = sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    seen = b''
    position = 0

    def read_some(timeout):
        nonlocal seen
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return False
        seen += chunk
        return len(chunk) > 0

    for prompt, answer in exchanges:
        wanted = prompt.encode()
        deadline = time.time() + WAIT_SECONDS
        while seen.find(wanted, position) == -1 and time.time() < deadline:
            if not read_some(0.2):
                break
        found = seen.find(wanted, position)
        if found == -1:
            break
        position = found + len(wanted)
        os.write(fd, answer.encode())
    deadline = time.time() + WAIT_SECONDS
    while time.time() < deadline and read_some(0.2):
        pass
    deadline = time.time() + WAIT_SECONDS
    done, status = os.waitpid(pid, os.WNOHANG)
    while done == 0 and time.time() < deadline:
        time.sleep(0.05)
        done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
    print(json.dumps({'output': seen.decode('utf-8', 'replace'), 'code': os.waitstatus_to_exitcode(status)}))


main()
