package executor

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// wasmModule is a module of a memory section (min pages, and a max when
// max > 0) and an export of that memory as "memory", after the sections
// in before.
func wasmModule(minPages, max uint32, before ...[]byte) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range before {
		m = append(m, s...)
	}
	mem := []byte{1, 0}
	if max > 0 {
		mem[1] = 1
	}
	mem = binary.AppendUvarint(mem, uint64(minPages))
	if max > 0 {
		mem = binary.AppendUvarint(mem, uint64(max))
	}
	m = append(append(append(m, 5), byte(len(mem))), mem...)
	export := append([]byte{1, 6}, "memory\x02\x00"...)
	return append(append(append(m, 7), byte(len(export))), export...)
}

// FuzzWasmMemoryMin: any bytes as a job's wasm module. Whenever wazero
// compiles a module that exports its own memory, wasmMemoryMin reads that
// memory's minimum exactly: the executor refuses a module over its memory
// limit on that figure alone, since wazero panics if the first allocation
// is refused.
func FuzzWasmMemoryMin(f *testing.F) {
	custom := append([]byte{0, 5, 4}, "note"...)
	types := []byte{1, 4, 1, 0x60, 0, 0} // one type: () -> ()
	f.Add(wasmModule(1, 0))
	f.Add(wasmModule(17, 0, custom))
	f.Add(wasmModule(300, 400, types))
	f.Add(wasmModule(65536, 0))
	f.Add(wasmModule(2, 1))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x05\x05\x01\x00\x81\x80\x00\x07\x0a\x01\x06memory\x02\x00"))
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Cleanup(func() { rt.Close(ctx) })
	f.Fuzz(func(t *testing.T, module []byte) {
		pages, ok := wasmMemoryMin(module)
		compiled, err := rt.CompileModule(ctx, module)
		if err != nil {
			return
		}
		defer compiled.Close(ctx)
		for _, mem := range compiled.ExportedMemories() {
			if _, _, imported := mem.Import(); !imported && (!ok || pages != mem.Min()) {
				t.Fatalf("wasmMemoryMin = %d, %t; wazero reads a minimum of %d pages", pages, ok, mem.Min())
			}
		}
	})
}

// FuzzLogs: any output of a job, written in any chunks to stdout and
// stderr, under any byte limit. Each stream's lines are at most MaxLine
// bytes with no newline, and read back, in order, as exactly the bytes
// kept (the first limit of them) less their newlines.
func FuzzLogs(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), uint8(3), uint16(0), uint8(0))
	f.Add(append(bytes.Repeat([]byte("a"), MaxLine+5), "\nb\n"...), uint8(200), uint16(0), uint8(0b1010))
	f.Add(append(bytes.Repeat([]byte("é"), MaxLine/2+1), '\n'), uint8(7), uint16(100), uint8(0xff))
	f.Add([]byte("no newline at the end"), uint8(1), uint16(5), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, limit uint16, streams uint8) {
		logs := NewLogs(int64(limit), nil)
		kept := map[string][]byte{}
		left := int(limit)
		for i := 0; len(data) > 0; i++ {
			n := min(len(data), int(chunk)+1)
			stream := "stdout"
			if streams>>(i%8)&1 == 1 {
				stream = "stderr"
			}
			if _, err := logs.Writer(stream).Write(data[:n]); err != nil {
				t.Fatal(err)
			}
			k := n
			if limit > 0 {
				k = min(n, left)
				left -= k
			}
			kept[stream] = append(kept[stream], data[:k]...)
			data = data[n:]
		}
		logs.Close()
		lines, _, closed := logs.Lines(0)
		if !closed {
			t.Fatal("logs not closed")
		}
		got := map[string][]byte{}
		for _, l := range lines {
			if len(l.Text) > MaxLine || strings.Contains(l.Text, "\n") {
				t.Fatalf("a line of %d bytes, newline inside: %t", len(l.Text), strings.Contains(l.Text, "\n"))
			}
			got[l.Stream] = append(got[l.Stream], l.Text...)
		}
		for _, s := range []string{"stdout", "stderr"} {
			if want := bytes.ReplaceAll(kept[s], []byte("\n"), nil); !bytes.Equal(got[s], want) {
				t.Fatalf("%s: read back %d bytes, want %d", s, len(got[s]), len(want))
			}
		}
	})
}
