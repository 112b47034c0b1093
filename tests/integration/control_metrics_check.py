#!/usr/bin/python3
"""Checks ferryd's /metrics text against the Stats it was rendered from.

usage: control_metrics_check.py [--ignore GLOB]... METRICS_TEXT_FILE STATS_JSON_FILE

METRICS_TEXT_FILE is the body of GET /metrics; STATS_JSON_FILE is `ferryctl stats -o json`
(protobuf's JSON mapping of ferry.v1.Stats, preserve_proto_field_names and
always_print_primitive_fields: uint64 values are strings, +Inf is "Infinity").

The text must parse with prometheus_client's parser, every sample must sit in its declared
family (no untyped leftovers, no family split in two, no duplicate series), histograms must be
cumulative with a +Inf bucket equal to _count, and the samples must be exactly the ones the
JSON implies under lib/control/prometheus.h's rules, which this script restates on its own
(so that it checks the C++ rather than repeats it):
  ferry_config_version; global metrics unlabelled, or per {worker} when the JSON has workers
  (and then the workers must add up to the global figure); ferry_listener_*{listener};
  ferry_backend_*{pool,backend}; ferry_listener_info, ferry_backend_info, ferry_backend_state
  (one-hot), ferry_backend_weight; counters end in _total once; histograms are <name>_seconds
  with _bucket, _sum and _count.

--ignore GLOB leaves out metrics whose dotted name ("loop.idle_cycles"; "listener.<name>" and
"backend.<name>" for the scoped ones) or family name matches GLOB: for figures that move
between the scrape and the stats call even on an idle appliance. Repeatable.

Exit status: 0 and a one-line summary when everything matches; 1 and one line per mismatch
otherwise; 2 when a file cannot be read or parsed.
"""

import argparse
import fnmatch
import json
import math
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

NAME_RE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')
STATES = [('BACKEND_STATE_ENABLED', 'enabled'), ('BACKEND_STATE_DISABLED', 'disabled'),
          ('BACKEND_STATE_DRAINING', 'draining'), ('BACKEND_STATE_DRAINED', 'drained'),
          ('BACKEND_STATE_REMOVED', 'removed')]
STATE_NUMBERS = {1: 'BACKEND_STATE_ENABLED', 2: 'BACKEND_STATE_DISABLED',
                 3: 'BACKEND_STATE_DRAINING', 4: 'BACKEND_STATE_DRAINED',
                 5: 'BACKEND_STATE_REMOVED'}


def prom_name(name):
    """ferry_ + name, every byte outside [a-zA-Z0-9_] of its UTF-8 replaced by '_'."""
    out = []
    for b in name.encode('utf-8'):
        c = chr(b)
        out.append(c if b < 128 and (c.isalnum() or c == '_') else '_')
    return 'ferry_' + ''.join(out)


def scalar_family(prefix, metric):
    name = prom_name(prefix + metric.get('name', ''))
    if not metric.get('gauge', False) and not name.endswith('_total'):
        name += '_total'
    return name


def histogram_family(prefix, hist):
    name = prom_name(prefix + hist.get('name', ''))
    return name if name.endswith('_seconds') else name + '_seconds'


def as_float(v):
    """A JSON number or protobuf's string forms ("123", "Infinity", "NaN")."""
    if isinstance(v, str):
        return float({'Infinity': 'inf', '-Infinity': '-inf'}.get(v, v))
    return float(v)


def sample_key(name, labels):
    items = []
    for k, v in labels.items():
        items.append((k, float(v) if k == 'le' else v))
    return (name, frozenset(items))


def show(name, labels):
    if not labels:
        return name
    parts = []
    for k, v in labels.items():
        if k == 'le' and isinstance(v, float):
            v = '+Inf' if v == math.inf else repr(v)
        parts.append('%s=%s' % (k, json.dumps(v)))
    return '%s{%s}' % (name, ','.join(parts))


class Expectations:
    def __init__(self, ignore):
        self.ignore = ignore
        self.samples = {}   # key -> (shown name, value, exact)
        self.problems = []
        self.ignored_names = set()  # sample names of ignored families: not unexpected either

    def ignored(self, dotted, family):
        if any(fnmatch.fnmatchcase(dotted, g) or fnmatch.fnmatchcase(family, g)
               for g in self.ignore):
            self.ignored_names.update([family, family + '_bucket', family + '_sum',
                                       family + '_count'])
            return True
        return False

    def add(self, name, labels, value, exact=True):
        key = sample_key(name, labels)
        if key in self.samples:
            self.problems.append('stats imply %s twice' % show(name, labels))
        self.samples[key] = (show(name, labels), value, exact)

    def scalar(self, prefix, dotted, metric, labels):
        family = scalar_family(prefix, metric)
        if not self.ignored(dotted, family):
            self.add(family, labels, int(metric.get('value', '0')))

    def histogram(self, prefix, dotted, hist, labels):
        family = histogram_family(prefix, hist)
        if self.ignored(dotted, family):
            return
        count = int(hist.get('count', '0'))
        buckets = [b for b in hist.get('buckets', [])
                   if not math.isnan(as_float(b.get('le_seconds', 0)))]
        for b in buckets:
            self.add(family + '_bucket', dict(labels, le=as_float(b.get('le_seconds', 0))),
                     int(b.get('cumulative_count', '0')))
        if not buckets or as_float(buckets[-1].get('le_seconds', 0)) != math.inf:
            self.add(family + '_bucket', dict(labels, le=math.inf), count)
        self.add(family + '_sum', labels, as_float(hist.get('sum_seconds', 0)), exact=False)
        self.add(family + '_count', labels, count)


def expected_samples(stats, ignore):
    e = Expectations(ignore)
    e.add('ferry_config_version', {}, int(stats.get('config_version', '0')))

    glob = stats.get('global', {})
    workers = stats.get('workers', [])
    worker_metrics = {m.get('name', '') for w in workers
                      for m in w.get('stats', {}).get('metrics', [])}
    worker_hists = {h.get('name', '') for w in workers
                    for h in w.get('stats', {}).get('histograms', [])}
    for m in glob.get('metrics', []):
        name = m.get('name', '')
        if name not in worker_metrics:
            e.scalar('', name, m, {})
            continue
        total = sum(int(x.get('value', '0')) for w in workers
                    for x in w.get('stats', {}).get('metrics', []) if x.get('name') == name)
        if total != int(m.get('value', '0')) and not e.ignored(name, scalar_family('', m)):
            e.problems.append('global %s is %s but the workers add up to %d' %
                              (name, m.get('value'), total))
    for h in glob.get('histograms', []):
        if h.get('name', '') not in worker_hists:
            e.histogram('', h.get('name', ''), h, {})
    for w in workers:
        labels = {'worker': str(w.get('worker', 0))}
        for m in w.get('stats', {}).get('metrics', []):
            e.scalar('', m.get('name', ''), m, labels)
        for h in w.get('stats', {}).get('histograms', []):
            e.histogram('', h.get('name', ''), h, labels)

    for lst in stats.get('listeners', []):
        labels = {'listener': lst.get('name', '')}
        if not e.ignored('listener.info', 'ferry_listener_info'):
            e.add('ferry_listener_info', dict(labels, address=lst.get('address', ''),
                                              port=str(lst.get('port', 0)),
                                              pool=lst.get('pool', '')), 1)
        for m in lst.get('stats', {}).get('metrics', []):
            e.scalar('listener_', 'listener.' + m.get('name', ''), m, labels)
        for h in lst.get('stats', {}).get('histograms', []):
            e.histogram('listener_', 'listener.' + h.get('name', ''), h, labels)

    for b in stats.get('backends', []):
        labels = {'pool': b.get('pool', ''), 'backend': b.get('name', '')}
        if not e.ignored('backend.info', 'ferry_backend_info'):
            e.add('ferry_backend_info', dict(labels, address=b.get('address', ''),
                                             port=str(b.get('port', 0))), 1)
        state = b.get('state', 'BACKEND_STATE_UNSPECIFIED')
        state = STATE_NUMBERS.get(state, state) if isinstance(state, int) else state
        if not e.ignored('backend.state', 'ferry_backend_state'):
            for enum_name, label in STATES:
                e.add('ferry_backend_state', dict(labels, state=label),
                      1 if state == enum_name else 0)
        if not e.ignored('backend.weight', 'ferry_backend_weight'):
            e.add('ferry_backend_weight', labels, int(b.get('weight', 0)))
        for m in b.get('stats', {}).get('metrics', []):
            e.scalar('backend_', 'backend.' + m.get('name', ''), m, labels)
        for h in b.get('stats', {}).get('histograms', []):
            e.histogram('backend_', 'backend.' + h.get('name', ''), h, labels)
    return e


def parse_text(text):
    """The text's samples by key, and what is wrong with its structure."""
    problems = []
    samples = {}
    seen_families = set()
    histograms = {}   # (family, labels without le) -> {'buckets': [(le, v)], 'count': v}
    for family in text_string_to_metric_families(text):
        if family.type in ('untyped', 'unknown'):  # the parser renames untyped to unknown
            problems.append('sample outside its family (untyped): %s' %
                            ', '.join(show(s.name, s.labels) for s in family.samples))
        if family.name in seen_families:
            problems.append('family %s appears twice (its samples are not grouped)' %
                            family.name)
        seen_families.add(family.name)
        if not family.samples:
            problems.append('family %s declared without samples' % family.name)
        for s in family.samples:
            if not NAME_RE.match(s.name):
                problems.append('invalid sample name %r' % s.name)
            key = sample_key(s.name, s.labels)
            if key in samples:
                problems.append('duplicate series %s' % show(s.name, s.labels))
            samples[key] = (show(s.name, s.labels), s.value)
            if family.type == 'histogram':
                rest = frozenset((k, v) for k, v in s.labels.items() if k != 'le')
                h = histograms.setdefault((family.name, rest), {'buckets': [], 'count': None})
                if s.name.endswith('_bucket'):
                    h['buckets'].append((float(s.labels.get('le', 'nan')), s.value))
                elif s.name.endswith('_count'):
                    h['count'] = s.value
    for (name, labels), h in sorted(histograms.items(), key=lambda kv: repr(kv[0])):
        where = show(name, dict(labels))
        values = [v for _, v in sorted(h['buckets'])]
        if any(b < a for a, b in zip(values, values[1:])):
            problems.append('%s: buckets are not cumulative: %s' % (where, values))
        inf = [v for le, v in h['buckets'] if le == math.inf]
        if len(inf) != 1:
            problems.append('%s: %d +Inf buckets' % (where, len(inf)))
        elif h['count'] is None or inf[0] != h['count']:
            problems.append('%s: +Inf bucket %s but _count %s' % (where, inf[0], h['count']))
    return samples, problems


def same(expected, actual, exact):
    if exact:
        return float(expected) == actual
    return math.isclose(expected, actual, rel_tol=1e-12, abs_tol=1e-300) or (
        math.isnan(expected) and math.isnan(actual))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ignore', action='append', default=[], metavar='GLOB')
    parser.add_argument('metrics_text')
    parser.add_argument('stats_json')
    args = parser.parse_args()
    try:
        with open(args.metrics_text, encoding='utf-8') as f:
            text = f.read()
        with open(args.stats_json, encoding='utf-8') as f:
            stats = json.load(f)
        actual, problems = parse_text(text)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        print('control_metrics_check: %s' % e, file=sys.stderr)
        return 2

    expected = expected_samples(stats, args.ignore)
    problems += expected.problems
    matched = 0
    for key, (shown, value, exact) in expected.samples.items():
        if key not in actual:
            problems.append('missing %s (stats say %s)' % (shown, value))
        elif not same(value, actual[key][1], exact):
            problems.append('%s is %s, stats say %s' % (shown, actual[key][1], value))
        else:
            matched += 1
    for key, (shown, value) in actual.items():
        if key in expected.samples or key[0] in expected.ignored_names:
            continue
        problems.append('unexpected %s %s (not in the stats)' % (shown, value))

    if problems:
        for p in problems:
            print('mismatch: %s' % p)
        print('control_metrics_check: %d mismatches, %d samples matched' %
              (len(problems), matched))
        return 1
    print('control_metrics_check: %d samples matched' % matched)
    return 0


if __name__ == '__main__':
    sys.exit(main())
