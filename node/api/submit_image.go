package api

import (
	"os"
	"time"

	"github.com/gpumesh/gpumesh/scheduler/market"
)

// archiveReadRate is the rate, bytes per second, at which SubmitJob
// expects the node to read an image archive (a slow disk): the node reads
// it whole to check and digest it before it answers.
const archiveReadRate = 50 << 20

// submitTimeout bounds SubmitJob: requestTimeout, and for a spec whose
// image is an archive on this machine, the time to read it at
// archiveReadRate on top (a 20 GiB CUDA image: about 7 minutes).
func submitTimeout(spec market.Spec) time.Duration {
	if !market.IsImageArchive(spec.Image) {
		return requestTimeout
	}
	st, err := os.Stat(spec.Image)
	if err != nil {
		return requestTimeout // the node says what is wrong with it
	}
	return requestTimeout + time.Duration(st.Size()/archiveReadRate+1)*time.Second
}
