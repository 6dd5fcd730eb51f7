import { createReadStream } from 'node:fs';

/** One line of a JSON-lines source, numbered from 1 as an editor shows it. */
export interface SourceLine {
  readonly number: number;
  readonly text: string;
  /** The line was longer than the limit; `text` is then empty and the rest was not kept. */
  readonly tooLong: boolean;
}

/**
 * Splits a character stream into lines without ever holding more than one line (up to
 * `maxLineLength` characters) in memory, so a 1 GB file streams through in constant space and a
 * file with no newline at all cannot exhaust memory. `\r\n` and `\n` both end a line.
 */
export async function* splitLines(chunks: AsyncIterable<string | Buffer>, maxLineLength: number): AsyncGenerator<SourceLine> {
  let number = 0;
  let partial = '';
  let overflow = false;
  const decoder = new TextDecoder('utf-8');
  const emit = (text: string): SourceLine => {
    number += 1;
    const tooLong = overflow || text.length > maxLineLength;
    overflow = false;
    return { number, text: tooLong ? '' : text.replace(/\r$/, ''), tooLong };
  };
  for await (const chunk of chunks) {
    // A Buffer chunk may end inside a multi-byte character; the streaming decoder keeps the tail.
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      yield emit(partial + text.slice(start, nl));
      partial = '';
      start = nl + 1;
    }
    if (!overflow) partial += text.slice(start);
    if (partial.length > maxLineLength) {
      overflow = true;
      partial = '';
    }
  }
  partial += decoder.decode();
  if (partial !== '' || overflow) yield emit(partial);
}

/** Lines of a UTF-8 file, streamed (1 MiB reads). */
export function readFileLines(path: string, maxLineLength: number): AsyncGenerator<SourceLine> {
  return splitLines(createReadStream(path, { highWaterMark: 1 << 20 }), maxLineLength);
}

/** An iterable that already yields one line per item (a readline interface, a test's array). */
export async function* numberLines(lines: AsyncIterable<string> | Iterable<string>, maxLineLength: number): AsyncGenerator<SourceLine> {
  let number = 0;
  for await (const text of lines) {
    number += 1;
    const tooLong = text.length > maxLineLength;
    yield { number, text: tooLong ? '' : text.replace(/\r?\n$/, ''), tooLong };
  }
}
