// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title HostileToken: a 6-decimals ERC-20 that re-enters a target on every
/// transfer, for tests only.
/// @notice When armed, each transfer and transferFrom first calls target with
/// attack (once per arming) and records whether that call succeeded and what it
/// returned or reverted with; it never fails the outer transfer itself, so a
/// test sees both the outer outcome and the refused re-entry.
contract HostileToken is ERC20 {
    address public target;
    bytes public attack;
    bool public armed;
    bool public reentered;
    bool public reentrySucceeded;
    bytes public reentryReturn;

    constructor() ERC20("gpumesh hostile dollar", "tEVIL") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// Mints amount to to (tests only).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// Arms the token: its next transfer calls target with data.
    function arm(address target_, bytes calldata data) external {
        target = target_;
        attack = data;
        armed = true;
        reentered = false;
        reentrySucceeded = false;
        delete reentryReturn;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (armed) {
            armed = false;
            reentered = true;
            (bool ok, bytes memory ret) = target.call(attack);
            reentrySucceeded = ok;
            reentryReturn = ret;
        }
        super._update(from, to, value);
    }
}
