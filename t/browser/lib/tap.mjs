// A plain TAP reporter for node's test runner: prove's parser chokes on the
// YAML blocks of node's own 'tap' reporter, so failures are printed as
// '#' comments instead.  One TAP line per test (subtests inline, by name).
export default async function* tap(source) {
    let n = 0;
    const results = [];
    yield 'TAP version 13\n';
    for await (const ev of source) {
        if (ev.type === 'test:pass' || ev.type === 'test:fail') {
            const d = ev.data;
            if (d.details && d.details.type === 'suite') continue;
            n++;
            const name = (d.name || '').replace(/#/g, '\\#').replace(/\n/g, ' ');
            const ms = d.details && d.details.duration_ms ? ` (${Math.round(d.details.duration_ms)} ms)` : '';
            if (ev.type === 'test:pass') {
                yield `ok ${n} - ${name}${d.skip ? ' # SKIP' : d.todo ? ' # TODO' : ''}${ms}\n`;
            } else {
                yield `not ok ${n} - ${name}${ms}\n`;
                process.stderr.write(`# failed: ${d.file ? d.file.replace(/.*\//, '') + ': ' : ''}${name}\n`);
                const err = d.details && d.details.error;
                const text = String((err && (err.cause && err.cause.stack || err.cause || err.stack)) || err || 'failed');
                for (const line of text.split('\n').slice(0, 40)) {
                    yield `#   ${line}\n`;
                    // prove shows stderr, not TAP comments: the reason reaches the CI log too
                    process.stderr.write(`#   ${line}\n`);
                }
                results.push(name);
            }
        } else if (ev.type === 'test:diagnostic') {
            yield `# ${ev.data.message}\n`;
        } else if (ev.type === 'test:stderr' || ev.type === 'test:stdout') {
            for (const line of String(ev.data.message).split('\n')) if (line) yield `# ${line}\n`;
        }
    }
    yield `1..${n}\n`;
}
