package sqlstore

import (
	"context"
	"database/sql"
	"strings"
)

// The infrastructures of the rated resources: one row per (user, infrastructure) with the
// label and datacenter of the latest rating, written by every batch of the user. Most
// batches find the rows as they want them; such a row is neither written nor locked, so
// that batches of one user do not queue behind each other on these few rows until their
// commits (an upsert, even of the same values, locks the row it finds until the
// transaction ends).

var insertInfras = rowsStatement{head: `INSERT INTO infrastructures (user_id, infrastructure_id, label, datacenter) VALUES `,
	tail: ` ON CONFLICT (user_id, infrastructure_id) DO NOTHING RETURNING user_id, infrastructure_id`, cols: 4}

// updateInfra writes a row only when it holds other values (so that it locks none that
// already holds these).
const updateInfra = `UPDATE infrastructures SET label = ?, datacenter = ? WHERE user_id = ? AND infrastructure_id = ? AND (label <> ? OR datacenter <> ?)`

type infraKey struct{ user, id int64 }

// selectInfras returns the statement reading n infrastructures by key.
func selectInfras(n int) string {
	var b strings.Builder
	b.WriteString(`SELECT user_id, infrastructure_id, label, datacenter FROM infrastructures WHERE `)
	for i := range n {
		if i > 0 {
			b.WriteString(` OR `)
		}
		b.WriteString(`(user_id = ? AND infrastructure_id = ?)`)
	}
	return b.String()
}

// writeInfrastructures makes the rows hold args, rows of (user_id, infrastructure_id,
// label, datacenter) in key order: it reads them, inserts the missing ones and updates
// those that hold other values. A row another transaction inserted meanwhile is updated
// once that one has committed, as an upsert would.
func (s *Store) writeInfrastructures(ctx context.Context, tx *sql.Tx, args []any) error {
	const cols = 4
	type row struct{ label, datacenter string }
	stored := map[infraKey]row{}
	rest := args
	for _, n := range rowCounts(len(args) / cols) {
		keyArgs := make([]any, 0, n*2)
		for i := range n {
			keyArgs = append(keyArgs, rest[i*cols], rest[i*cols+1])
		}
		rest = rest[n*cols:]
		st, err := s.prepared(ctx, tx, selectInfras(n))
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, keyArgs...)
		if err != nil {
			return s.err(err)
		}
		for rows.Next() {
			var k infraKey
			var r row
			if err := rows.Scan(&k.user, &k.id, &r.label, &r.datacenter); err != nil {
				rows.Close()
				return s.err(err)
			}
			stored[k] = r
		}
		if err := rows.Close(); err != nil {
			return s.err(err)
		}
	}

	var missing []any
	for i := 0; i < len(args); i += cols {
		if _, ok := stored[infraKey{args[i].(int64), args[i+1].(int64)}]; !ok {
			missing = append(missing, args[i:i+cols]...)
		}
	}
	inserted := map[infraKey]bool{}
	rest = missing
	for _, n := range rowCounts(len(missing) / cols) {
		st, err := s.prepared(ctx, tx, insertInfras.text(n))
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, rest[:n*cols]...)
		if err != nil {
			return s.err(err)
		}
		rest = rest[n*cols:]
		for rows.Next() {
			var k infraKey
			if err := rows.Scan(&k.user, &k.id); err != nil {
				rows.Close()
				return s.err(err)
			}
			inserted[k] = true
		}
		if err := rows.Close(); err != nil {
			return s.err(err)
		}
	}

	for i := 0; i < len(args); i += cols {
		k := infraKey{args[i].(int64), args[i+1].(int64)}
		want := row{args[i+2].(string), args[i+3].(string)}
		if old, ok := stored[k]; inserted[k] || ok && old == want {
			continue
		}
		st, err := s.prepared(ctx, tx, updateInfra)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, want.label, want.datacenter, k.user, k.id, want.label, want.datacenter); err != nil {
			return s.err(err)
		}
	}
	return nil
}
