package portrait

import "math"

// scene draws the portrait. Every feature is a coverage in [0, 1] painted
// over the image so far, back to front: background, back hair, neck,
// clothes, face, blush, eyes, nose, mouth, brows, front hair. Lengths are
// in image units: the image spans [-1, 1] on both axes, y downwards.
type scene struct {
	*expr
	p      []string // style parameters, [N,1,1,1] each, about ±1 at psi 0.55
	xs, ys string   // [1,1,1,S] and [1,1,S,1]

	hueOff string // [1,3,1,1]: the channels' phase on the colour wheel
}

// hsv is a colour from a hue angle, saturation and value in [0, 1] (all
// [N,1,1,1]): each channel is a cosine of the hue, mixed with grey.
func (s *scene) hsv(h, sat, val string) string {
	if s.hueOff == "" {
		s.hueOff = s.g.FloatInit("hue_off", []int64{1, 3, 1, 1}, []float32{0, 2.0943951, 4.1887902})
	}
	wave := s.addc(s.mulc(s.cos(s.sub(h, s.hueOff)), -0.5), 0.5) // 0 at the hue, 1 opposite
	c01 := s.mul(val, s.rsubc(1, s.mul(sat, wave)))
	return s.addc(s.mulc(c01, 2), -1)
}

// sig maps a parameter to (lo, hi) smoothly: lo + (hi-lo)*sigmoid(a + b*p).
func (s *scene) sig(lo, hi, a, b float64, p string) string {
	return s.lin(lo, hi-lo, s.sigmoid(s.lin(a, b, p)))
}

func (s *scene) draw() string {
	p := s.p
	c := func(v float64) string { return s.c(v) }
	white := s.col(1, 1, 1)

	// Head frame.
	cx := s.lin(0, 0.03, p[pFaceX])
	fc := s.lin(0.01, 0.025, p[pFaceY]) // face centre y
	rx := s.lin(0.35, 0.022, p[pFaceW])
	ry := s.lin(0.44, 0.022, p[pFaceH])
	chin := s.clamp(s.lin(0.42, 0.1, p[pChin]), 0.15, 0.7)
	dx := s.sub(s.xs, cx) // [N,1,1,S]
	ax := s.abs(dx)
	dy := s.sub(s.ys, fc) // [N,1,S,1]
	chinY := s.add(fc, ry)

	// Colours.
	skin := s.lerp(s.col(1, 0.91, 0.84), s.col(0.93, 0.75, 0.63), s.unit(s.lin(0.3, 0.25, p[pSkin])))
	skinShade := s.lerp(skin, s.col(0.86, 0.55, 0.55), c(0.35))
	skinLine := s.lerp(skin, s.col(0.45, 0.2, 0.2), c(0.7))
	// The hair hue is warped away from green (h + 0.7 sin(h - 2.1)),
	// which anime hair shows less often than the rest of the wheel.
	hh := s.lin(0.2, 2.8, p[pHairHue])
	hh = s.add(hh, s.mulc(s.sin(s.addc(hh, -2.1)), 0.7))
	hair := s.hsv(hh, s.sig(0.05, 0.95, 0.4, 1.6, p[pHairSat]), s.sig(0.15, 0.97, 0.6, 1.6, p[pHairVal]))
	hairDark := s.shade(hair, 0.62)
	hairLine := s.lerp(s.shade(hair, 0.35), s.col(0.12, 0.06, 0.1), c(0.4))
	hairShine := s.lerp(hair, white, c(0.5))
	eye := s.hsv(s.lin(3.6, 2.6, p[pEyeHue]), c(0.85), s.sig(0.45, 0.95, 0.4, 1.5, p[pEyeVal]))
	eyeDark := s.lerp(s.shade(eye, 0.35), s.col(0.1, 0.05, 0.12), c(0.3))
	eyeLight := s.lerp(eye, white, c(0.3))
	lash := s.col(0.16, 0.09, 0.12)
	// The background's hue keeps at least 0.5 rad from the hair's, so
	// the hair never melts into it.
	bgHue := s.add(hh, s.lin(math.Pi, 1.3, p[pBgHue]))
	bg1 := s.hsv(bgHue, c(0.35), c(0.97))
	bg2 := s.hsv(s.add(bgHue, s.lin(0.9, 0.7, p[pBgShift])), c(0.5), c(0.82))
	bgPat := s.lerp(bg1, white, c(0.55))
	cloth := s.hsv(s.lin(4.2, 2.6, p[pClothHue]), c(0.6), s.sig(0.2, 0.9, 0.3, 1.6, p[pClothVal]))
	accent := s.lerp(white, s.hsv(s.lin(0, 2.6, p[pEyeHue]), c(0.9), c(0.85)), s.unit(s.lin(0, 0.9, p[pCollar])))

	// Background: a vertical gradient and a pattern that mixes stripes,
	// dots and rings.
	img := s.lerp(bg1, bg2, s.mulc(s.addc(s.ys, 1), 0.5)) // [N,3,S,1]
	freq := s.lin(16, 5, p[pBgFreq])
	ang := s.lin(0.8, 0.9, p[pBgAngle])
	stripes := s.sin(s.mul(s.add(s.mul(s.xs, s.cos(ang)), s.mul(s.ys, s.sin(ang))), freq))
	ph := s.mulc(p[pBgAngle], 2)
	dots := s.mul(s.sin(s.add(s.mul(s.xs, freq), ph)), s.sin(s.add(s.mul(s.ys, freq), ph)))
	r := s.sqrt(s.add(s.sq(s.xs), s.sq(s.ys)))
	rings := s.sin(s.mulc(s.mul(r, freq), 0.8))
	wS := s.sigmoid(s.mulc(p[pBgStripes], 3))
	wD := s.mul(s.sigmoid(s.mulc(p[pBgDots], 3)), s.rsubc(1, wS))
	wR := s.rsubc(1, s.add(wS, wD))
	pat := s.add(s.add(s.mul(stripes, wS), s.mul(dots, wD)), s.mul(rings, wR))
	img = s.over(img, bgPat, s.mulc(s.unit(s.mulc(s.addc(pat, -0.35), 3)), 0.6))

	// Back hair: a cap around the skull, a curtain down to the hair's
	// length with pointed tips, and twin tails when that parameter is high.
	hcy := s.addc(fc, -0.07)
	capRx := s.mul(rx, s.lin(1.24, 0.05, p[pHairVol]))
	capRy := s.mulc(ry, 1.14)
	qCap := s.ellipseQ(dx, s.sub(s.ys, hcy), capRx, capRy)
	capA := s.ellipse(qCap, capRx, c(0))
	capO := s.ellipse(qCap, capRx, c(0.012))
	length := s.lin(0.55, 0.32, p[pHairLen])
	flare := s.lin(0.08, 0.06, p[pFlare])
	hw := s.add(s.mulc(capRx, 0.97), s.mul(flare, s.unit(s.mulc(dy, 1.2)))) // [N,1,S,1]
	tipF := s.lin(7, 2, p[pTips])
	bottom := s.sub(s.add(fc, length), s.mulc(s.tri(s.addc(s.mul(dx, tipF), 0.5)), 0.07)) // [N,1,1,S]
	top := s.less(hcy, s.ys)                                                              // [N,1,S,1]
	curtain := s.mul(s.mul(s.less(ax, hw), s.less(s.ys, bottom)), top)
	curtainO := s.mul(s.mul(s.less(ax, s.addc(hw, 0.012)), s.less(s.ys, s.addc(bottom, 0.012))), top)
	tails := s.unit(s.lin(-1.5, 3, p[pTails]))
	tx := s.sub(ax, s.addc(capRx, 0.1))
	qTail := s.ellipseQ(tx, s.sub(s.ys, s.addc(hcy, 0.42)), c(0.15), c(0.55))
	tailGrow := s.mulc(s.rsubc(1, tails), -0.2)
	tailA := s.ellipse(qTail, c(0.15), tailGrow)
	tailO := s.ellipse(qTail, c(0.15), s.addc(tailGrow, 0.012))
	backA := s.max(s.max(capA, curtain), tailA)
	backO := s.max(s.max(capO, curtainO), tailO)
	backCol := s.lerp(s.shade(hair, 0.9), hairDark, s.unit(s.mulc(s.sub(s.ys, hcy), 0.8)))
	img = s.over(img, hairLine, backO)
	img = s.over(img, backCol, backA)

	// Neck, with the chin's shadow.
	nw := s.mulc(rx, 0.27)
	neckA := s.mul(s.less(ax, nw), s.less(fc, s.ys))
	shadowY := s.sub(s.addc(chinY, 0.06), s.mulc(s.sq(dx), 1.5))
	img = s.over(img, skin, neckA)
	img = s.over(img, skinShade, s.mul(neckA, s.less(s.ys, shadowY)))

	// Clothes: shoulders with a V neck and a collar band.
	sw := s.lin(0.95, 0.06, p[pShoulder])
	by := s.addc(chinY, 0.7)
	qBody := s.ellipseQ(dx, s.sub(s.ys, by), sw, c(0.46))
	bodyA := s.ellipse(qBody, c(0.46), c(0))
	bodyO := s.ellipse(qBody, c(0.46), c(0.012))
	vy := s.addc(chinY, 0.2)
	vs := s.lin(2.2, 0.5, p[pCollar])
	vA := s.less(s.add(vy, s.mul(ax, vs)), s.ys)
	collarA := s.less(s.add(s.addc(vy, -0.07), s.mul(ax, vs)), s.ys)
	clothCol := s.lerp(cloth, s.shade(cloth, 0.75), s.unit(s.sub(s.ys, vy)))
	img = s.over(img, s.shade(cloth, 0.35), bodyO)
	img = s.over(img, clothCol, bodyA)
	img = s.over(img, accent, s.mul(bodyA, collarA))
	img = s.over(img, skin, s.mul(bodyA, vA))

	// Face: an ellipse whose width narrows towards a pointed chin, an
	// outline, and a cel shadow on the side away from the light.
	u := s.unit(s.div(dy, ry))
	rxT := s.mul(rx, s.rsubc(1, s.mul(chin, s.sq(u)))) // [N,1,S,1]
	qFace := s.ellipseQ(dx, dy, rxT, ry)
	faceA := s.ellipse(qFace, rx, c(0))
	faceO := s.ellipse(qFace, rx, c(0.01))
	qLit := s.ellipseQ(s.addc(dx, 0.06), dy, rxT, ry)
	litA := s.ellipse(qLit, rx, c(0))
	img = s.over(img, skinLine, faceO)
	img = s.over(img, skin, faceA)
	img = s.over(img, s.lerp(skin, skinShade, c(0.6)), s.mul(faceA, s.rsubc(1, litA)))

	// Bangs: their lower edge is a function of x alone, a row of pointed
	// locks (count, length, spikiness, parting and sweep vary), longer at
	// the sides. Their shadow falls on the forehead.
	bangsF := s.lin(5.5, 1.5, p[pBangsFreq])
	spike := s.lin(1.6, 0.5, p[pBangsSpike])
	lock := s.g.Op("Pow", s.rsubc(1, s.tri(s.add(s.mul(dx, bangsF), s.lin(0.5, 0.25, p[pBangsPhase])))), spike)
	lockLen := s.mul(s.lin(0.13, 0.03, p[pBangsLen]), s.addc(s.mulc(s.cos(s.mulc(dx, 9)), 0.2), 0.8))
	bangsY := s.add(s.add(s.add(s.lin(-0.2, 0.05, p[pBangsLen]), fc), s.mul(dx, s.mulc(p[pBangsSweep], 0.15))),
		s.add(s.mul(lock, lockLen), s.mulc(s.sq(ax), 0.9))) // [N,1,1,S]
	img = s.over(img, skinShade, s.mul(faceA, s.mulc(s.less(s.ys, s.addc(bangsY, 0.045)), 0.7)))

	// Blush.
	qBlush := s.ellipseQ(s.sub(ax, s.mulc(rx, 0.55)), s.sub(dy, s.mulc(ry, 0.38)), c(0.09), c(0.045))
	blush := s.mul(s.unit(s.rsubc(1, s.sq(qBlush))), s.sig(0.1, 0.6, 0, 1.5, p[pBlush]))
	img = s.over(img, s.col(1, 0.45, 0.5), blush)

	// Eyes, both at once from |x|: a lid, the white, an iris with a dark
	// rim and a vertical gradient, a pupil and two highlights.
	ex := s.mul(rx, s.lin(0.47, 0.04, p[pEyeSep]))
	ey := s.add(fc, s.mul(ry, s.lin(0.2, 0.05, p[pEyeY])))
	erx := s.mul(rx, s.lin(0.27, 0.03, p[pEyeW]))
	ery := s.mul(ry, s.lin(0.26, 0.05, p[pEyeH]))
	dxe := s.sub(ax, ex)                                                 // [N,1,1,S]
	dye := s.add(s.sub(s.ys, ey), s.mul(dxe, s.mulc(p[pEyeTilt], 0.18))) // full
	qLid := s.ellipseQ(s.sub(dxe, s.mulc(erx, 0.06)), s.add(dye, s.mulc(ery, 0.26)), s.mulc(erx, 1.14), s.mulc(ery, 1.0))
	img = s.over(img, lash, s.ellipse(qLid, erx, c(0)))
	qEye := s.ellipseQ(dxe, dye, erx, ery)
	eyeA := s.ellipse(qEye, erx, c(0))
	img = s.over(img, lash, s.mulc(s.ellipse(qEye, erx, c(0.006)), 0.6))
	scleraCol := s.lerp(s.col(0.78, 0.8, 0.92), white, s.unit(s.div(s.sub(s.ys, s.sub(ey, ery)), s.mulc(ery, 0.6))))
	img = s.over(img, scleraCol, eyeA)
	irx := s.mul(erx, s.lin(0.68, 0.06, p[pIris]))
	iry := s.mul(ery, s.lin(0.78, 0.06, p[pIris]))
	dxi := s.add(dxe, s.mulc(erx, 0.06))
	dyi := s.sub(dye, s.mulc(ery, 0.12))
	qIris := s.ellipseQ(dxi, dyi, irx, iry)
	irisGrad := s.lerp(eyeDark, eyeLight, s.unit(s.div(s.sub(s.ys, s.sub(ey, iry)), s.mulc(iry, 1.8))))
	img = s.over(img, eyeDark, s.mul(eyeA, s.ellipse(qIris, irx, c(0))))
	img = s.over(img, irisGrad, s.mul(eyeA, s.ellipse(qIris, irx, s.mulc(irx, -0.14))))
	img = s.over(img, eyeDark, s.mul(eyeA, s.ellipse(qIris, irx, s.mulc(irx, -0.58))))
	// Highlights sit on the same side of both eyes (the light is upper
	// left), so they use the signed x.
	dxiS := s.mul(dxi, s.g.Op("Sign", dx))
	hl := func(ox, oy, rr, alpha float64) {
		rh := s.mulc(irx, rr)
		q := s.ellipseQ(s.add(dxiS, s.mulc(irx, ox)), s.add(dyi, s.mulc(iry, oy)), rh, rh)
		img = s.over(img, white, s.mulc(s.mul(eyeA, s.ellipse(q, rh, c(0))), alpha))
	}
	hl(0.35, 0.38, 0.3, 0.95)
	hl(-0.3, -0.45, 0.13, 0.8)

	// Brows: thin arcs above the eyes.
	bw := s.mulc(erx, 1.05)
	browY := s.sub(s.sub(s.sub(ey, ery), s.lin(0.075, 0.02, p[pBrow])),
		s.mul(s.lin(0.025, 0.012, p[pBrowBend]), s.rsubc(1, s.sq(s.div(dxe, bw))))) // [N,1,1,S]
	browT := s.mulc(s.unit(s.rsubc(1, s.abs(s.div(dxe, bw)))), 0.018)
	browA := s.mul(s.less(s.abs(s.sub(s.ys, browY)), browT), s.less(s.abs(dxe), bw))
	img = s.over(img, s.lerp(hairLine, lash, c(0.3)), s.mulc(browA, 0.9))

	// Nose: a small shadow.
	qNose := s.ellipseQ(s.addc(dx, 0.004), s.sub(dy, s.mulc(ry, 0.5)), c(0.009), c(0.013))
	img = s.over(img, skinLine, s.mulc(s.ellipse(qNose, c(0.009), c(0)), 0.5))

	// Mouth: the area between two parabolas, a line when closed, with a
	// smile that bends both.
	my := s.add(fc, s.mul(ry, s.lin(0.7, 0.04, p[pMouthY])))
	mw := s.lin(0.05, 0.015, p[pMouthW])
	open := s.unit(s.lin(0.005, 0.025, p[pMouthOpen]))
	bend := s.mul(s.sq(s.div(dx, mw)), s.lin(-0.012, 0.01, p[pSmile]))
	mTop := s.add(s.sub(my, s.mulc(open, 0.3)), bend)                            // [N,1,1,S]
	mBot := s.add(s.add(my, s.mul(open, s.rsubc(1, s.sq(s.div(dx, mw))))), bend) // [N,1,1,S]
	mouthIn := s.mul(s.less(mTop, s.ys), s.less(s.ys, mBot))                     // full
	mouthLine := s.mul(s.less(s.addc(mTop, -0.006), s.ys), s.less(s.ys, s.addc(mBot, 0.006)))
	xm := s.less(ax, mw)
	img = s.over(img, s.col(0.45, 0.15, 0.18), s.mul(mouthLine, xm))
	img = s.over(img, s.col(0.85, 0.35, 0.4), s.mul(mouthIn, s.less(ax, s.mulc(mw, 0.8))))

	// Front hair: the bangs inside the cap, side locks that follow the
	// face down to the hair's length, a shine band, an ahoge.
	bangsA := s.mul(capA, s.less(s.ys, bangsY))
	bangsO := s.mul(capO, s.less(s.ys, s.addc(bangsY, 0.012)))
	lockTip := s.add(fc, s.clamp(s.mulc(length, 0.95), 0.25, 1.3))
	lockW := s.mul(s.lin(0.06, 0.015, p[pLocks]), s.unit(s.mulc(s.sub(lockTip, s.ys), 8))) // [N,1,S,1]
	lockX := s.mul(rx, s.addc(s.mulc(s.unit(s.div(dy, ry)), 0.25), 0.9))                   // [N,1,S,1]
	lockD := s.abs(s.sub(ax, lockX))
	lockTop := s.less(s.sub(fc, s.mulc(ry, 0.6)), s.ys)
	lockA := s.mul(s.mul(s.less(lockD, lockW), s.less(s.ys, lockTip)), lockTop)
	lockO := s.mul(s.mul(s.less(lockD, s.addc(lockW, 0.012)), s.less(s.ys, s.addc(lockTip, 0.012))), lockTop)
	frontA := s.max(bangsA, lockA)
	frontO := s.max(bangsO, lockO)
	frontCol := s.lerp(s.lerp(hair, hairShine, c(0.15)), s.shade(hair, 0.85), s.unit(s.mulc(s.sub(s.ys, hcy), 0.9)))
	img = s.over(img, hairLine, frontO)
	img = s.over(img, frontCol, frontA)

	// Shine: a jagged band around the crown, on the hair only.
	band := s.mul(s.lin(0.05, 0.015, p[pShine]), s.addc(s.mulc(s.tri(s.mul(dx, s.mulc(bangsF, 1.5))), 0.7), 0.3))
	ring := s.less(s.abs(s.addc(qCap, -0.68)), band)
	onHair := s.rsubc(1, s.mul(faceA, s.rsubc(1, frontA)))
	shineA := s.mul(s.mul(ring, onHair), s.mul(capA, s.less(s.ys, s.sub(hcy, s.mulc(capRy, 0.25)))))
	img = s.over(img, hairShine, s.mulc(shineA, 0.8))

	// Ahoge: a crescent standing on the crown (two circles, one cut out).
	aho := s.unit(s.lin(-0.3, 1, p[pAhoge]))
	ahoGrow := s.mulc(s.rsubc(1, aho), -0.1)
	ahX := s.sub(dx, s.mulc(p[pAhoge], 0.05))
	ahY := s.sub(s.ys, s.sub(s.sub(hcy, capRy), c(0.03)))
	qA1 := s.ellipseQ(s.addc(ahX, -0.05), ahY, c(0.08), c(0.08))
	qA2 := s.ellipseQ(s.addc(ahX, -0.085), s.addc(ahY, 0.02), c(0.075), c(0.075))
	ahoA := s.mul(s.mul(s.ellipse(qA1, c(0.08), ahoGrow), s.rsubc(1, s.ellipse(qA2, c(0.075), c(0.004)))), s.less(s.ys, s.addc(hcy, 0.0)))
	img = s.over(img, frontCol, ahoA)
	return img
}
