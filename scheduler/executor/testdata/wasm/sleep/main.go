// Command sleep prints one line and sleeps for an hour.
package main

import (
	"os"
	"time"
)

func main() {
	os.Stdout.WriteString("sleeping\n")
	time.Sleep(time.Hour)
}
