import { fileURLToPath } from 'node:url';
import { IcebergError } from '@iceberg/common';

/** What kind of source an input string names; it decides ffmpeg's input options. */
export type InputKind = 'rtsp' | 'rtmp' | 'http' | 'file' | 'v4l2';

export interface ClassifiedInput {
  kind: InputKind;
  /** What ffmpeg is given after `-i`: the URL, the file path or the device path. */
  url: string;
  /** True for inputs that are live by nature (network cameras, capture devices). */
  network: boolean;
}

const SUPPORTED =
  'rtsp://, rtsps://, rtmp://, rtmps://, http://, https://, a file path or file:// URL, /dev/videoN or v4l2:///dev/videoN';

/**
 * Classifies a camera input. Throws `ICEBERG_ERR_INPUT_INVALID` for anything ffmpeg should not be
 * given: an empty string, control characters (NUL, newlines) or an unsupported scheme.
 */
export function classifyInput(input: string): ClassifiedInput {
  if (input.trim() === '') throw invalid('the camera input is empty', input);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  if (/[\u0000-\u001f\u007f]/.test(input))
    throw invalid('the camera input contains a control character (NUL, newline or tab)', input);

  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(input)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (/^\/dev\/video\d+$/.test(input)) return { kind: 'v4l2', url: input, network: false };
    // A path with a colon would be read by ffmpeg as `protocol:rest`: force the file protocol.
    return { kind: 'file', url: input.includes(':') ? `file:${input}` : input, network: false };
  }
  switch (scheme) {
    case 'rtsp':
    case 'rtsps':
      return { kind: 'rtsp', url: input, network: true };
    case 'rtmp':
    case 'rtmps':
      return { kind: 'rtmp', url: input, network: true };
    case 'http':
    case 'https':
      return { kind: 'http', url: input, network: true };
    case 'file': {
      let path: string;
      try {
        path = fileURLToPath(input);
      } catch (err) {
        throw invalid(`"${redactUrl(input)}" is not a valid file:// URL`, input, err);
      }
      return { kind: 'file', url: path.includes(':') ? `file:${path}` : path, network: false };
    }
    case 'v4l2': {
      const device = input.slice('v4l2://'.length);
      if (!/^\/dev\/video\d+$/.test(device))
        throw invalid(`"${input}" does not name a capture device: use v4l2:///dev/videoN`, input);
      return { kind: 'v4l2', url: device, network: false };
    }
    default:
      throw invalid(`unsupported camera input "${redactUrl(input)}": use ${SUPPORTED}`, input);
  }
}

function invalid(message: string, input: string, cause?: unknown): IcebergError {
  return new IcebergError('ICEBERG_ERR_INPUT_INVALID', message, {
    cause,
    details: { input: redactUrl(input) },
  });
}

const SECRET_QUERY_KEYS = /^(password|passwd|pass|pwd|secret|token|key|auth|sig|signature)$/i;

/**
 * Hides credentials in a URL: the password of `scheme://user:password@host` and the values of
 * query parameters such as `password=` or `token=`. Anything that is not a URL comes back as is.
 */
export function redactUrl(url: string): string {
  return redactText(url);
}

/**
 * Hides credentials in any text that may contain URLs (e.g. an ffmpeg log line), wherever the
 * URLs appear in it.
 */
export function redactText(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s/:@'"]*):[^\s/@'"]*@/gi, '$1:***@')
    .replace(/([?&;])([^=&\s'"#]+)=([^&\s'"#]*)/g, (all, sep: string, key: string) =>
      SECRET_QUERY_KEYS.test(key) ? `${sep}${key}=***` : all,
    );
}
