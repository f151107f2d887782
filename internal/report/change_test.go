package report

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/stats"
)

func TestNewChangeWritesUnboundedSidesAsNull(t *testing.T) {
	b, err := json.Marshal(NewChange(stats.Comparison{Center: -2.5, Lo: math.Inf(-1), Hi: 1.5, Confidence: 0.95, P: 0.2}))
	require.NoError(t, err)
	require.JSONEq(t, `{"pct":-2.5,"ci_lo":null,"ci_hi":1.5,"confidence":0.95,"p_value":0.2}`, string(b))
}
