package node

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"

	golog "github.com/ipfs/go-log/v2"
	"github.com/libp2p/go-libp2p/gologshim"
	"go.uber.org/zap/zapcore"

	"github.com/gpumesh/gpumesh/node/config"
)

// ParseLevel maps a config level name to a slog level (info if unknown;
// config validation has already refused unknown names).
func ParseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// NewLogHandler returns the node's log handler writing to w: text for a
// person, JSON lines when headless or configured so.
func NewLogHandler(w io.Writer, cfg config.Log, headless bool) slog.Handler {
	opts := &slog.HandlerOptions{Level: ParseLevel(cfg.Level)}
	if headless || cfg.Format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// RouteLibp2pLogs sends the logs of go-libp2p (slog through gologshim) and of
// the libraries still on go-log (kad-dht) to h, dropping those below level.
// It changes process-wide state, so only main calls it, once, before any
// node starts. go-libp2p-pubsub logs through a private copy of gologshim that
// cannot be redirected; it reads GOLOG_LOG_FMT, so we set its format to ours.
func RouteLibp2pLogs(h slog.Handler, level slog.Level, json bool) {
	gologshim.SetDefaultHandler(&minLevel{h: h, min: level})
	golog.SetPrimaryCore(&zapToSlog{h: h, min: zapLevel(level)})
	golog.SetAllLoggers(golog.LogLevel(zapLevel(level)))
	// The DHT warns on every refresh while the routing table is empty, which
	// is the normal state of the first node of a network.
	_ = golog.SetLogLevel("dht/RtRefreshManager", "error")
	format := "text"
	if json {
		format = "json"
	}
	if os.Getenv("GOLOG_LOG_FMT") == "" {
		_ = os.Setenv("GOLOG_LOG_FMT", format)
	}
}

// minLevel is a slog handler that drops records below min.
type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m *minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m *minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m *minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return &minLevel{h: m.h.WithAttrs(a), min: m.min}
}
func (m *minLevel) WithGroup(g string) slog.Handler {
	return &minLevel{h: m.h.WithGroup(g), min: m.min}
}

// zapToSlog is a zapcore.Core that writes go-log's zap entries to a slog handler.
type zapToSlog struct {
	h     slog.Handler
	min   zapcore.Level
	attrs []slog.Attr
}

func zapLevel(l slog.Level) zapcore.Level {
	switch {
	case l >= slog.LevelError:
		return zapcore.ErrorLevel
	case l >= slog.LevelWarn:
		return zapcore.WarnLevel
	case l >= slog.LevelInfo:
		return zapcore.InfoLevel
	default:
		return zapcore.DebugLevel
	}
}

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l >= zapcore.ErrorLevel:
		return slog.LevelError
	case l >= zapcore.WarnLevel:
		return slog.LevelWarn
	case l >= zapcore.InfoLevel:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}

func (z *zapToSlog) Enabled(l zapcore.Level) bool { return l >= z.min }

func (z *zapToSlog) With(fs []zapcore.Field) zapcore.Core {
	return &zapToSlog{h: z.h, min: z.min, attrs: append(slices.Clip(z.attrs), fieldAttrs(fs)...)}
}

func (z *zapToSlog) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if z.Enabled(e.Level) {
		return ce.AddCore(e, z)
	}
	return ce
}

func (z *zapToSlog) Write(e zapcore.Entry, fs []zapcore.Field) error {
	r := slog.NewRecord(e.Time, slogLevel(e.Level), e.Message, 0)
	r.AddAttrs(slog.String("logger", e.LoggerName))
	r.AddAttrs(z.attrs...)
	r.AddAttrs(fieldAttrs(fs)...)
	return z.h.Handle(context.Background(), r)
}

func (z *zapToSlog) Sync() error { return nil }

// fieldAttrs converts zap fields to slog attributes, sorted by key.
func fieldAttrs(fs []zapcore.Field) []slog.Attr {
	if len(fs) == 0 {
		return nil
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fs {
		f.AddTo(enc)
	}
	out := make([]slog.Attr, 0, len(enc.Fields))
	for k, v := range enc.Fields {
		out = append(out, slog.Any(k, v))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
