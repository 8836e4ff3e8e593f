package proof

// The prover and the verifier share one kernel, addQuad, so that the
// verifier's share of the work in time is close to its share in
// multiply-adds (Cost). Go does not vectorize; the kernel keeps eight
// multipliers in registers and walks four rows of B and two rows of C
// contiguously, so each load and store of C carries four multiply-adds.

// mulRows sets c to a x b: a and c hold len(a)/n rows of n elements, b is
// n x n, all row-major. Rows of B are taken four at a time, each quad
// applied to every row of c while it is in cache.
func mulRows(a, b, c []float32, n int) {
	clear(c)
	k := 0
	for ; k+4 <= n; k += 4 {
		addQuad(c, a, b[k*n:(k+1)*n], b[(k+1)*n:(k+2)*n], b[(k+2)*n:(k+3)*n], b[(k+3)*n:(k+4)*n], n, k)
	}
	for ; k < n; k++ {
		addRow(c, a, b[k*n:(k+1)*n], n, k)
	}
}

// addQuad adds rows k to k+3 of B (b0 to b3, n elements each) times columns
// k to k+3 of a into c: a and c hold len(c)/n rows of n elements.
func addQuad(c, a, b0, b1, b2, b3 []float32, n, k int) {
	rows := len(c) / n
	b1, b2, b3 = b1[:len(b0)], b2[:len(b0)], b3[:len(b0)]
	i := 0
	for ; i+2 <= rows; i += 2 {
		x := a[i*n+k : i*n+k+4]
		y := a[(i+1)*n+k : (i+1)*n+k+4]
		x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
		y0, y1, y2, y3 := y[0], y[1], y[2], y[3]
		c0, c1 := c[i*n:i*n+n], c[(i+1)*n:(i+1)*n+n]
		c0, c1 = c0[:len(b0)], c1[:len(b0)]
		for j, v := range b0 {
			w, u, z := b1[j], b2[j], b3[j]
			c0[j] += x0*v + x1*w + x2*u + x3*z
			c1[j] += y0*v + y1*w + y2*u + y3*z
		}
	}
	if i < rows {
		x := a[i*n+k : i*n+k+4]
		x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
		c0 := c[i*n : i*n+n]
		c0 = c0[:len(b0)]
		for j, v := range b0 {
			c0[j] += x0*v + x1*b1[j] + x2*b2[j] + x3*b3[j]
		}
	}
}

// addRow adds row k of B, bk, times column k of a into c: a and c hold
// len(c)/n rows of n elements. It finishes what addQuad leaves when n is
// not a multiple of four.
func addRow(c, a, bk []float32, n, k int) {
	rows := len(c) / n
	for i := range rows {
		x := a[i*n+k]
		ci := c[i*n : i*n+n]
		ci = ci[:len(bk)]
		for j, v := range bk {
			ci[j] += x * v
		}
	}
}

// addRow64 adds x times bk into c, in float64: the verifier's reference for
// the 16-bit number types, whose products are exact in float64.
func addRow64(c []float64, x float64, bk []float32) {
	c = c[:len(bk)]
	for j, v := range bk {
		c[j] += x * float64(v)
	}
}
