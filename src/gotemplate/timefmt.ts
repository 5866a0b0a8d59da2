/**
 * Go's time.Format layouts ("2006-01-02T15:04:05Z07:00"), in UTC as
 * consul-template's `timestamp` renders them.
 */

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export const RFC3339 = '2006-01-02T15:04:05Z07:00';

type Chunk = { lit: string } | { std: string };

/** Splits a layout into literal text and Go's standard chunks. */
function chunks(layout: string): Chunk[] {
  const out: Chunk[] = [];
  let lit = '';
  const push = (std: string) => {
    if (lit) out.push({ lit });
    lit = '';
    out.push({ std });
  };
  for (let i = 0; i < layout.length; ) {
    const rest = layout.slice(i);
    const std = matchStd(rest);
    if (std) {
      push(std);
      i += std.length;
    } else {
      lit += layout[i++];
    }
  }
  if (lit) out.push({ lit });
  return out;
}

const ORDERED = [
  'January', 'Jan', 'Monday', 'Mon', 'MST',
  '2006', '002', '01', '02', '03', '04', '05', '06',
  '15', '__2', '_2', '1', '2', '3', '4', '5',
  'PM', 'pm',
  '-07:00:00', '-070000', '-07:00', '-0700', '-07',
  'Z07:00:00', 'Z070000', 'Z07:00', 'Z0700', 'Z07',
];

function matchStd(rest: string): string | undefined {
  // Fractional seconds: .000 / .999 / ,000 not followed by a digit.
  const frac = /^[.,](0+|9+)(?![0-9])/.exec(rest);
  if (frac) return frac[0];
  for (const s of ORDERED) {
    if (!rest.startsWith(s)) continue;
    // "Mon" not followed by a lowercase letter ("Month" is literal); same for "Jan".
    if ((s === 'Mon' || s === 'Jan') && /^[a-z]/.test(rest.slice(3)) && !rest.startsWith('Monday') && !rest.startsWith('January')) continue;
    return s;
  }
  return undefined;
}

const p2 = (n: number) => String(n).padStart(2, '0');

/** Formats `d` (in UTC) with a Go layout. */
export function formatGoTime(d: Date, layout: string): string {
  const Y = d.getUTCFullYear();
  const M = d.getUTCMonth();
  const D = d.getUTCDate();
  const h = d.getUTCHours();
  const m = d.getUTCMinutes();
  const s = d.getUTCSeconds();
  const ms = d.getUTCMilliseconds();
  const wd = d.getUTCDay();
  const yday = Math.floor((Date.UTC(Y, M, D) - Date.UTC(Y, 0, 1)) / 86_400_000) + 1;
  let out = '';
  for (const c of chunks(layout)) {
    if ('lit' in c) {
      out += c.lit;
      continue;
    }
    const std = c.std;
    switch (std) {
      case 'January': out += MONTHS[M]; break;
      case 'Jan': out += MONTHS[M].slice(0, 3); break;
      case 'Monday': out += DAYS[wd]; break;
      case 'Mon': out += DAYS[wd].slice(0, 3); break;
      case 'MST': out += 'UTC'; break;
      case '2006': out += String(Y).padStart(4, '0'); break;
      case '06': out += p2(Y % 100); break;
      case '01': out += p2(M + 1); break;
      case '1': out += String(M + 1); break;
      case '02': out += p2(D); break;
      case '2': out += String(D); break;
      case '_2': out += String(D).padStart(2, ' '); break;
      case '__2': out += String(yday).padStart(3, ' '); break;
      case '002': out += String(yday).padStart(3, '0'); break;
      case '15': out += p2(h); break;
      case '03': out += p2(h % 12 || 12); break;
      case '3': out += String(h % 12 || 12); break;
      case '04': out += p2(m); break;
      case '4': out += String(m); break;
      case '05': out += p2(s); break;
      case '5': out += String(s); break;
      case 'PM': out += h >= 12 ? 'PM' : 'AM'; break;
      case 'pm': out += h >= 12 ? 'pm' : 'am'; break;
      case '-07:00:00': out += '+00:00:00'; break;
      case '-070000': out += '+000000'; break;
      case '-07:00': out += '+00:00'; break;
      case '-0700': out += '+0000'; break;
      case '-07': out += '+00'; break;
      default:
        if (std.startsWith('Z')) {
          out += 'Z';
        } else {
          // Fractional seconds (.000 fixed width, .999 trailing zeros dropped); millisecond clock.
          const digits = std.length - 1;
          const frac = (String(ms).padStart(3, '0') + '000000').slice(0, digits);
          if (std[1] === '0') out += std[0] + frac;
          else {
            const trimmed = frac.replace(/0+$/, '');
            if (trimmed) out += std[0] + trimmed;
          }
        }
    }
  }
  return out;
}

/** Go's time.Time.String() in UTC: "2006-01-02 15:04:05.999999999 +0000 UTC". */
export function goTimeString(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const d = new Date(ms);
  const frac = ((nanos % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const fracStr = frac === 0n ? '' : '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  return formatGoTime(d, '2006-01-02 15:04:05') + fracStr + ' +0000 UTC';
}
