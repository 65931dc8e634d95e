package dynamo

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lcgo/lcgo/shared/librechat"
)

func decodeBalance(it item) *librechat.Balance {
	return &librechat.Balance{
		UserID:              getStr(it, "uid"),
		TokenCredits:        getNum(it, "credits"),
		AutoRefillEnabled:   getFlag(it, "autoRefill"),
		RefillIntervalValue: int(getNum(it, "refillValue")),
		RefillIntervalUnit:  getStr(it, "refillUnit"),
		RefillAmount:        getNum(it, "refillAmount"),
		LastRefill:          getTime(it, "lastRefill"),
	}
}

// Balance fails with KindNotFound when the user has no balance yet.
func (s *Store) Balance(ctx context.Context, userID string) (*librechat.Balance, error) {
	const op = "dynamo.Balance"
	if userID == "" || checkKey(op, balanceKey(userID)) != nil {
		return nil, notFound(op, "balance not found")
	}
	it, err := s.get(ctx, balanceKey(userID))
	if err != nil {
		return nil, fail(op, err)
	}
	if it == nil {
		return nil, notFound(op, "balance not found")
	}
	return decodeBalance(it), nil
}

// PutBalanceIfAbsent is a conditional put; the loser reads the winner,
// strongly consistent.
func (s *Store) PutBalanceIfAbsent(ctx context.Context, b *librechat.Balance) (*librechat.Balance, error) {
	const op = "dynamo.PutBalanceIfAbsent"
	if b == nil || b.UserID == "" {
		return nil, invalid(op, "balance user is required")
	}
	if err := checkPart(op, "balance user", b.UserID); err != nil {
		return nil, err
	}
	it := newItem(balanceKey(b.UserID), "balance")
	it["uid"] = sv(b.UserID)
	it["credits"] = nv(b.TokenCredits)
	setFlag(it, "autoRefill", b.AutoRefillEnabled)
	setNum(it, "refillValue", int64(b.RefillIntervalValue))
	setStr(it, "refillUnit", b.RefillIntervalUnit)
	setNum(it, "refillAmount", b.RefillAmount)
	setTime(it, "lastRefill", b.LastRefill)
	e := newExpr()
	err := s.put(ctx, it, e, "attribute_not_exists("+e.n(AttrPK)+")")
	if err == nil {
		return decodeBalance(it), nil
	}
	if err != errCondition {
		return nil, fail(op, err)
	}
	got, err := s.Balance(ctx, b.UserID)
	if err != nil {
		return nil, withOpErr(err, op)
	}
	return got, nil
}

// txItem is the stored transaction; pending marks one whose balance update
// may not have happened yet (only without transactions).
func txItem(t *librechat.Transaction, pending bool) item {
	it := newItem(txKey(t.UserID, t.ID), "txn")
	it["id"] = sv(t.ID)
	it["uid"] = sv(t.UserID)
	setStr(it, "cid", t.ConversationID)
	setStr(it, "mid", t.MessageID)
	setStr(it, "model", t.Model)
	setStr(it, "tokenType", t.TokenType)
	setNum(it, "raw", t.RawAmount)
	it["rate"] = sv(strconv.FormatFloat(t.Rate, 'g', -1, 64))
	setNum(it, "amount", t.Amount)
	setStr(it, "context", t.Context)
	setTime(it, "createdAt", t.CreatedAt)
	setFlag(it, "pending", pending)
	return it
}

func decodeTx(it item) *librechat.Transaction {
	rate, _ := strconv.ParseFloat(getStr(it, "rate"), 64)
	return &librechat.Transaction{
		ID:             getStr(it, "id"),
		UserID:         getStr(it, "uid"),
		ConversationID: getStr(it, "cid"),
		MessageID:      getStr(it, "mid"),
		Model:          getStr(it, "model"),
		TokenType:      getStr(it, "tokenType"),
		RawAmount:      getNum(it, "raw"),
		Rate:           rate,
		Amount:         getNum(it, "amount"),
		Context:        getStr(it, "context"),
		CreatedAt:      getTime(it, "createdAt"),
	}
}

// AddTransaction records t and adds t.Amount to the balance.
//
// With transactions it reads the balance and writes the record
// (conditional on its id being new) together with the new credits
// (conditional on the credits read), retrying when the balance moved: the
// credits returned are exactly those this transaction produced.
//
// Without transactions it writes the record marked pending (conditional
// on its id being new), then adds the amount with an atomic ADD that also
// sets an in-flight marker for the id on the balance and returns the new
// credits, then clears the mark and the marker. Transactions lists a
// pending record only while the balance carries its marker, so a record
// whose amount was never applied is never listed; a failed ADD deletes the
// record, and a record a crash left pending is replaced once it is older
// than ClaimTimeout.
func (s *Store) AddTransaction(ctx context.Context, t *librechat.Transaction) (int64, error) {
	const op = "dynamo.AddTransaction"
	if t == nil || t.ID == "" || t.UserID == "" {
		return 0, invalid(op, "transaction id and user are required")
	}
	if err := checkPart(op, "transaction id", t.ID); err != nil {
		return 0, err
	}
	if err := checkPart(op, "transaction user", t.UserID); err != nil {
		return 0, err
	}
	if err := checkKey(op, txKey(t.UserID, t.ID)); err != nil {
		return 0, err
	}
	if math.IsNaN(t.Rate) || math.IsInf(t.Rate, 0) {
		return 0, invalid(op, "transaction rate must be a finite number")
	}
	if s.tx {
		return s.addTransactionTx(ctx, op, t)
	}
	rec := txItem(t, true)
	rec["writtenAt"] = nv(s.now().UnixMilli())
	for attempt := 0; ; attempt++ {
		e := newExpr()
		err := s.put(ctx, rec, e, "attribute_not_exists("+e.n(AttrPK)+")")
		if err == nil {
			break
		}
		if err != errCondition {
			return 0, fail(op, err)
		}
		if attempt > 0 {
			return 0, conflict(op, "transaction already recorded")
		}
		if err := s.dropAbandoned(ctx, t); err != nil {
			return 0, err
		}
	}
	be := newExpr()
	upd := "SET " + be.n("uid") + " = " + be.v(sv(t.UserID)) + ", " + be.n("type") + " = " + be.v(sv("balance")) +
		", " + be.n(inflightAttr(t.ID)) + " = " + be.v(boolv(true)) + " ADD " + be.n("credits") + " " + be.v(nv(t.Amount))
	got, err := s.update(ctx, balanceKey(t.UserID), be, upd, "", types.ReturnValueAllNew)
	if err != nil {
		de := newExpr()
		_, _ = s.del(context.WithoutCancel(ctx), txKey(t.UserID, t.ID), de, de.eq("pending", boolv(true)))
		return 0, fail(op, err)
	}
	credits := getNum(got, "credits")
	// Clearing the mark is housekeeping: the in-flight marker already
	// makes the record count.
	ce := newExpr()
	if _, err := s.update(ctx, txKey(t.UserID, t.ID), ce, "SET "+ce.n("pending")+" = "+ce.v(boolv(false)), "", types.ReturnValueNone); err == nil {
		ie := newExpr()
		_, _ = s.update(ctx, balanceKey(t.UserID), ie, "REMOVE "+ie.n(inflightAttr(t.ID)), "", types.ReturnValueNone)
	}
	return credits, nil
}

// dropAbandoned deletes the stored record of t if an interrupted
// AddTransaction left it pending, without its amount added, longer than
// ClaimTimeout ago; otherwise the id is taken and it reports KindConflict.
func (s *Store) dropAbandoned(ctx context.Context, t *librechat.Transaction) error {
	const op = "dynamo.AddTransaction"
	old, err := s.get(ctx, txKey(t.UserID, t.ID))
	if err != nil {
		return fail(op, err)
	}
	if old == nil {
		return nil
	}
	if !getFlag(old, "pending") || s.now().Sub(getTime(old, "writtenAt")) < s.claimTimeout {
		return conflict(op, "transaction already recorded")
	}
	bal, err := s.get(ctx, balanceKey(t.UserID))
	if err != nil {
		return fail(op, err)
	}
	if getFlag(bal, inflightAttr(t.ID)) {
		return conflict(op, "transaction already recorded")
	}
	e := newExpr()
	cond := e.eq("pending", boolv(true)) + " AND " + e.eq("writtenAt", old["writtenAt"])
	if _, err := s.del(ctx, txKey(t.UserID, t.ID), e, cond); err != nil && err != errCondition {
		return fail(op, err)
	}
	return nil
}

func (s *Store) addTransactionTx(ctx context.Context, op string, t *librechat.Transaction) (int64, error) {
	rec := txItem(t, false)
	for attempt := 0; attempt < 4*attempts; attempt++ {
		bal, err := s.get(ctx, balanceKey(t.UserID))
		if err != nil {
			return 0, fail(op, err)
		}
		be := newExpr()
		var cond string
		next := t.Amount
		if bal == nil {
			cond = "attribute_not_exists(" + be.n(AttrPK) + ")"
		} else {
			next += getNum(bal, "credits")
			cond = be.eq("credits", bal["credits"])
		}
		upd := "SET " + be.n("credits") + " = " + be.v(nv(next)) + ", " + be.n("uid") + " = " + be.v(sv(t.UserID)) +
			", " + be.n("type") + " = " + be.v(sv("balance"))
		re := newExpr()
		err = s.transact(ctx, []types.TransactWriteItem{
			txPut(s.table, rec, re, "attribute_not_exists("+re.n(AttrPK)+")"),
			txUpdate(s.table, balanceKey(t.UserID), be, upd, cond),
		})
		if cerr, ok := err.(*canceledError); ok {
			if cerr.failedAt(0) {
				return 0, conflict(op, "transaction already recorded")
			}
			if err := pause(ctx, attempt%8); err != nil {
				return 0, fail(op, err)
			}
			continue
		}
		if err != nil {
			return 0, fail(op, err)
		}
		return next, nil
	}
	return 0, busy(op)
}

// inflightAttr is the balance attribute that marks a transaction whose
// amount was added while its record is still marked pending.
func inflightAttr(txID string) string { return "inflight:" + txID }

// Transactions reads the user's records from the user's partition and
// orders them by creation time, then id. A pending record counts only
// while the balance carries its in-flight marker.
func (s *Store) Transactions(ctx context.Context, userID string) ([]*librechat.Transaction, error) {
	const op = "dynamo.Transactions"
	if checkKey(op, txKey(userID, "x")) != nil {
		return nil, nil
	}
	var (
		out     []*librechat.Transaction
		pending []item
	)
	err := s.queryPartition(ctx, "U#"+esc(userID), prefixTx, func(it item) bool {
		if getFlag(it, "pending") {
			pending = append(pending, it)
		} else {
			out = append(out, decodeTx(it))
		}
		return true
	})
	if err != nil {
		return nil, fail(op, err)
	}
	if len(pending) > 0 {
		bal, err := s.get(ctx, balanceKey(userID))
		if err != nil {
			return nil, fail(op, err)
		}
		for _, it := range pending {
			if getFlag(bal, inflightAttr(getStr(it, "id"))) {
				out = append(out, decodeTx(it))
				continue
			}
			// The writer clears the mark before the in-flight id: a
			// record no longer marked was applied meanwhile.
			now, err := s.get(ctx, key{getStr(it, AttrPK), getStr(it, AttrSK)})
			if err != nil {
				return nil, fail(op, err)
			}
			if now != nil && !getFlag(now, "pending") {
				out = append(out, decodeTx(now))
			}
		}
	}
	slices.SortFunc(out, func(a, b *librechat.Transaction) int {
		if c := cmpInt64(a.CreatedAt.UnixMilli(), b.CreatedAt.UnixMilli()); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
