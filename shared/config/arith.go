package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// evalArith evaluates an arithmetic expression of numbers, + - * /, unary
// minus and parentheses, e.g. "1000 * 60 * 15". It is what LibreChat's
// expiry variables are written in; nothing else is accepted.
func evalArith(s string) (float64, error) {
	p := &arith{s: s}
	v, err := p.sum()
	if err != nil {
		return 0, err
	}
	p.space()
	if p.i < len(p.s) {
		return 0, fmt.Errorf("unexpected %q", p.s[p.i:])
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, errors.New("not a finite number")
	}
	return v, nil
}

type arith struct {
	s     string
	i     int
	depth int
}

func (p *arith) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *arith) peek() byte {
	p.space()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *arith) sum() (float64, error) {
	v, err := p.product()
	if err != nil {
		return 0, err
	}
	for {
		switch p.peek() {
		case '+':
			p.i++
			w, err := p.product()
			if err != nil {
				return 0, err
			}
			v += w
		case '-':
			p.i++
			w, err := p.product()
			if err != nil {
				return 0, err
			}
			v -= w
		default:
			return v, nil
		}
	}
}

func (p *arith) product() (float64, error) {
	v, err := p.unary()
	if err != nil {
		return 0, err
	}
	for {
		switch p.peek() {
		case '*':
			p.i++
			w, err := p.unary()
			if err != nil {
				return 0, err
			}
			v *= w
		case '/':
			p.i++
			w, err := p.unary()
			if err != nil {
				return 0, err
			}
			if w == 0 {
				return 0, errors.New("division by zero")
			}
			v /= w
		default:
			return v, nil
		}
	}
}

func (p *arith) unary() (float64, error) {
	switch p.peek() {
	case '-':
		p.i++
		v, err := p.unary()
		return -v, err
	case '+':
		p.i++
		return p.unary()
	case '(':
		p.i++
		p.depth++
		if p.depth > 32 {
			return 0, errors.New("too deeply nested")
		}
		v, err := p.sum()
		if err != nil {
			return 0, err
		}
		if p.peek() != ')' {
			return 0, errors.New("missing )")
		}
		p.i++
		p.depth--
		return v, nil
	}
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.' || p.s[p.i] == '_') {
		p.i++
	}
	if start == p.i {
		if p.i >= len(p.s) {
			return 0, errors.New("unexpected end")
		}
		return 0, fmt.Errorf("unexpected %q", p.s[p.i:])
	}
	v, err := strconv.ParseFloat(p.s[start:p.i], 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", p.s[start:p.i])
	}
	return v, nil
}
