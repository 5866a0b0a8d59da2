/** Instance ids, `job/group[index]/task`: pure, shared with tendctl's formatters and the web page. */

/** Parse `job/group[index]/task`; undefined when malformed. */
export function parseInstanceId(id: string): { job: string; group: string; index: number; task: string } | undefined {
  const m = /^(.+)\/([^/]+)\[(\d+)\]\/([^/]+)$/.exec(id);
  return m ? { job: m[1], group: m[2], index: Number(m[3]), task: m[4] } : undefined;
}
