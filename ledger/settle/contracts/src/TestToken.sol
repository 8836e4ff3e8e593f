// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken: a 6-decimals stablecoin for tests only.
/// @notice Anyone may mint: never deploy it where it could be mistaken for money.
contract TestToken is ERC20 {
    constructor() ERC20("gpumesh test dollar", "tUSD") {}

    /// Six decimals, as USDC: one base unit is one ledger micro.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// Mints amount to to (tests only).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
