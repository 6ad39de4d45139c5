package dashboard_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// loadDay reads testdata/day.yaml, series in promtool's input_series
// notation ('1x10', '0+30x539', '_', 'stale'), parsed by Prometheus' own
// parser, into a storage the engine queries: Prometheus' test storage would
// bring its TSDB and every remote-write client along, for a day in memory.
func loadDay(t *testing.T) storage.Queryable {
	t.Helper()
	raw, err := os.ReadFile(day)
	require.NoError(t, err)
	var d struct {
		Interval string `json:"interval"`
		Series   []struct {
			Series string `json:"series"`
			Values string `json:"values"`
		} `json:"input_series"`
	}
	require.NoError(t, yaml.UnmarshalStrict(raw, &d))
	interval, err := time.ParseDuration(d.Interval)
	require.NoError(t, err)
	var series memory
	for _, s := range d.Series {
		lbls, values, err := parser.NewParser(parser.Options{}).ParseSeriesDesc(s.Series + " " + s.Values)
		require.NoError(t, err, s.Series)
		var samples []chunks.Sample
		for i, v := range values {
			if !v.Omitted {
				samples = append(samples, sample{t: int64(i) * interval.Milliseconds(), f: v.Value})
			}
		}
		series = append(series, storage.NewListSeries(lbls, samples))
	}
	slices.SortFunc(series, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	for i := 1; i < len(series); i++ {
		require.NotEqual(t, series[i-1].Labels().String(), series[i].Labels().String(), "a series given twice")
	}
	return series
}

// memory is a day of series, sorted by their labels.
type memory []storage.Series

func (m memory) Querier(_, _ int64) (storage.Querier, error) {
	return &storage.MockQuerier{SelectMockFunction: func(_ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
		l := &list{}
		for _, s := range m {
			if matches(s.Labels(), ms) {
				l.series = append(l.series, s)
			}
		}
		return l
	}}, nil
}

func matches(l labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

// list is a SeriesSet over the series a selector matched.
type list struct {
	series []storage.Series
	next   int
}

func (l *list) Next() bool                      { l.next++; return l.next <= len(l.series) }
func (l *list) At() storage.Series              { return l.series[l.next-1] }
func (*list) Err() error                        { return nil }
func (*list) Warnings() annotations.Annotations { return nil }

// sample is one float sample of the day.
type sample struct {
	t int64
	f float64
}

func (s sample) T() int64                    { return s.t }
func (sample) ST() int64                     { return 0 }
func (s sample) F() float64                  { return s.f }
func (sample) H() *histogram.Histogram       { return nil }
func (sample) FH() *histogram.FloatHistogram { return nil }
func (sample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s sample) Copy() chunks.Sample         { return s }
