// Package cloudmeter holds the billing domain of cloudmeter: the ledger's events, the
// resources they describe, the usage spans rating derives from them, API keys and their
// permissions, the error kinds every layer speaks, and the Store interface that storage
// engines implement.
//
// It imports no SQL driver and no HTTP code: storage (package sqlite) and transports
// (packages httpapi and metalsoft) depend on it, never the other way round.
package cloudmeter
