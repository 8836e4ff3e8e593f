package contracts

// Recompile the contracts (solc and OpenZeppelin pinned in package-lock.json;
// `npm ci` here first) and regenerate the Go bindings from the artifacts:
// `make contracts` at the repository root runs both.
//go:generate node compile.mjs
//go:generate go run github.com/ethereum/go-ethereum/cmd/abigen@v1.17.10 --v2 --abi artifacts/Settlement.abi --bin artifacts/Settlement.bin --pkg contracts --type Settlement --out settlement_bind.go
//go:generate go run github.com/ethereum/go-ethereum/cmd/abigen@v1.17.10 --v2 --abi artifacts/TestToken.abi --bin artifacts/TestToken.bin --pkg contracts --type TestToken --out testtoken_bind.go
//go:generate go run github.com/ethereum/go-ethereum/cmd/abigen@v1.17.10 --v2 --abi artifacts/HostileToken.abi --bin artifacts/HostileToken.bin --pkg contracts --type HostileToken --out hostiletoken_bind.go
