package headerstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// killChildEnv makes the test binary a process that appends and reports
// each height Append returned for, until it is killed.
const killChildEnv = "HEADERSTORE_KILL_CHILD"

// Every height Append returned for survives kill -9 of the process that
// appended it: the head is durable when Append returns.
func TestAppendSurvivesKill9(t *testing.T) {
	chain, _, _ := chains(t)
	if dir := os.Getenv(killChildEnv); dir != "" {
		ctx := context.Background()
		_, st := openDisk(t, dir)
		require.NoError(t, st.Init(ctx, chain[0]))
		fmt.Println(1)
		for height := 2; height <= len(chain); height += 3 {
			require.NoError(t, st.Append(ctx, chain[height-1:min(height+2, len(chain))]...))
			fmt.Println(st.Height())
		}
		time.Sleep(time.Minute) // killed long before
		return
	}

	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestAppendSurvivesKill9$")
	child.Env = append(os.Environ(), killChildEnv+"="+dir)
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	lines := bufio.NewScanner(out)
	var reported uint64
	for reported < 100 && lines.Scan() {
		if h, err := strconv.ParseUint(strings.TrimSpace(lines.Text()), 10, 64); err == nil {
			reported = h
		}
	}
	require.NoError(t, child.Process.Kill())
	_ = child.Wait() // killed: the error is expected
	require.GreaterOrEqual(t, reported, uint64(100))

	db, st := openDisk(t, dir)
	defer db.Close()
	require.GreaterOrEqual(t, st.Height(), reported, "a height Append returned for was lost to SIGKILL")
	got, err := st.GetRange(context.Background(), 1, st.Height()+1)
	require.NoError(t, err)
	require.Len(t, got, int(st.Height()))
}
