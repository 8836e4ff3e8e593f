// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title Settlement: gpumesh's escrow, cumulative payment vouchers, provider
/// stake and slashing, and fees (issue 24; docs/settlement.md).
/// @notice Requesters deposit into escrow; each requester signs, alongside each
/// countersigned receipt, a cumulative EIP-712 voucher to the provider; the
/// provider redeems only its latest voucher, one transaction for any number of
/// receipts. Providers may stake; two conflicting Works signed by the same key
/// for the same job and rank, or a Work contradicted by two staked auditors'
/// signed Audits of that job and rank, slash that key's stake.
/// @dev Token address 0 is the chain's native coin. Every external function that
/// moves value is nonReentrant and follows checks-effects-interactions; ERC-20
/// calls go through OpenZeppelin's SafeERC20 (tokens that return false or
/// nothing are handled); signatures go through OpenZeppelin's ECDSA, which
/// refuses a malleable (high) s and a v other than 27 or 28.
contract Settlement is EIP712, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// A requester's promise: everything it owes provider in token so far.
    struct Voucher {
        address requester;
        address provider;
        address token;
        uint256 cumulative;
        uint64 nonce;
    }

    /// A provider's statement of the result and price of one rank of one job.
    struct Work {
        bytes32 job;
        uint32 rank;
        bytes32 result;
        uint256 amount;
        address token;
        address requester;
    }

    /// A staked provider's statement that it ran one rank of one job (an
    /// audit) and got result.
    struct Audit {
        bytes32 job;
        uint32 rank;
        bytes32 result;
    }

    /// A withdrawal or unstaking that waits out the notice period.
    struct Pending {
        uint256 amount;
        uint64 readyAt;
    }

    /// A token's fee schedule, in basis points of each redeemed amount.
    struct Fee {
        uint16 requesterBP;
        uint16 providerBP;
        bool set;
    }

    bytes32 public constant VOUCHER_TYPEHASH =
        keccak256("Voucher(address requester,address provider,address token,uint256 cumulative,uint64 nonce)");
    bytes32 public constant WORK_TYPEHASH =
        keccak256("Work(bytes32 job,uint32 rank,bytes32 result,uint256 amount,address token,address requester)");
    bytes32 public constant AUDIT_TYPEHASH = keccak256("Audit(bytes32 job,uint32 rank,bytes32 result)");

    /// The highest fee, per side, that setFee accepts (5 %).
    uint16 public constant MAX_FEE_BP = 500;
    uint16 private constant BP = 10_000;
    /// The longest notice a deployment may set (a year): block.timestamp
    /// plus the notice must never overflow, or withdrawals would lock.
    uint64 public constant MAX_NOTICE = 365 days;

    address public immutable treasury;
    address public immutable stakeToken;
    uint256 public immutable minStake;
    uint64 public immutable notice;
    uint16 public immutable defaultFeeBP;
    uint16 public immutable slashBP;
    uint16 public immutable rewardBP;
    address public owner;

    mapping(address requester => mapping(address token => uint256)) private _escrow;
    mapping(address requester => mapping(address token => Pending)) private _withdrawals;
    mapping(address requester => mapping(address provider => mapping(address token => uint256))) private _redeemed;
    mapping(address provider => uint256) private _stake;
    mapping(address provider => Pending) private _unstaking;
    mapping(address token => Fee) private _fees;
    /// Offences already slashed, by keccak256(signer, job, rank).
    mapping(bytes32 offence => bool) public slashed;

    error ZeroAddress();
    error ZeroAmount();
    error BadShare(uint16 bp);
    error BadNotice(uint64 notice);
    error NotOwner(address caller);
    error FeeTooHigh(uint16 requesterBP, uint16 providerBP);
    error WrongToken(address token);
    error BadSignature();
    error WrongSigner(address signer, address want);
    error NotNewer(uint256 cumulative, uint256 redeemed);
    error OverEscrow(uint256 charge, uint256 escrow);
    error OverBalance(uint256 amount, uint256 balance);
    error NothingPending();
    error NoticeNotOver(uint64 readyAt, uint64 now_);
    error NotConflicting();
    error DifferentSigners(address a, address b);
    error AlreadySlashed(bytes32 offence);
    error NoStake(address provider);
    error AuditsDisagree();
    error SameAuditor(address auditor);
    error AuditorIsAccused(address auditor);
    error AuditorNotEligible(address auditor);
    error NativeTransferFailed(address to, uint256 amount);

    event Deposited(address indexed requester, address indexed token, uint256 amount);
    event WithdrawRequested(address indexed requester, address indexed token, uint256 amount, uint64 readyAt);
    event Withdrawn(address indexed requester, address indexed token, uint256 amount);
    event Redeemed(
        address indexed requester,
        address indexed provider,
        address indexed token,
        uint256 cumulative,
        uint64 nonce,
        uint256 paid,
        uint256 requesterFee,
        uint256 providerFee
    );
    event Staked(address indexed provider, uint256 amount);
    event UnstakeRequested(address indexed provider, uint256 amount, uint64 readyAt);
    event Unstaked(address indexed provider, uint256 amount);
    event Slashed(
        address indexed provider,
        address indexed submitter,
        bytes32 indexed job,
        uint32 rank,
        uint256 amount,
        uint256 reward
    );
    event FeeSet(address indexed token, uint16 requesterBP, uint16 providerBP);
    event OwnerChanged(address indexed previous, address indexed next);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @param treasury_ receives every fee and the part of a slash not rewarded.
    /// @param stakeToken_ the token providers stake (0 = the native coin).
    /// @param minStake_ the stake that makes a provider eligible.
    /// @param notice_ seconds a withdrawal or an unstaking waits.
    /// @param defaultFeeBP_ the fee on each side for a token without a schedule.
    /// @param slashBP_ the share of the stake one offence slashes (10000 = all).
    /// @param rewardBP_ the share of a slash paid to whoever submits the evidence.
    /// @param owner_ may set per-token fees (fee governance).
    constructor(
        address treasury_,
        address stakeToken_,
        uint256 minStake_,
        uint64 notice_,
        uint16 defaultFeeBP_,
        uint16 slashBP_,
        uint16 rewardBP_,
        address owner_
    ) EIP712("gpumesh", "1") {
        if (treasury_ == address(0) || owner_ == address(0)) revert ZeroAddress();
        if (defaultFeeBP_ > MAX_FEE_BP) revert FeeTooHigh(defaultFeeBP_, defaultFeeBP_);
        if (notice_ > MAX_NOTICE) revert BadNotice(notice_);
        if (slashBP_ == 0 || slashBP_ > BP) revert BadShare(slashBP_);
        if (rewardBP_ > BP) revert BadShare(rewardBP_);
        treasury = treasury_;
        stakeToken = stakeToken_;
        minStake = minStake_;
        notice = notice_;
        defaultFeeBP = defaultFeeBP_;
        slashBP = slashBP_;
        rewardBP = rewardBP_;
        owner = owner_;
        emit OwnerChanged(address(0), owner_);
    }

    // ---- escrow ----

    /// Deposits amount of an ERC-20 token (approved beforehand) into the
    /// sender's escrow. A token that takes a fee on transfer is credited what
    /// actually arrived.
    function deposit(address token, uint256 amount) external nonReentrant {
        if (token == address(0)) revert WrongToken(token);
        uint256 got = _pull(token, amount);
        _escrow[msg.sender][token] += got;
        emit Deposited(msg.sender, token, got);
    }

    /// Deposits the native coin sent into the sender's escrow.
    function depositNative() external payable nonReentrant {
        if (msg.value == 0) revert ZeroAmount();
        _escrow[msg.sender][address(0)] += msg.value;
        emit Deposited(msg.sender, address(0), msg.value);
    }

    /// Starts the notice period for taking amount out of the escrow; it
    /// replaces a pending request (and restarts its clock). Redemptions keep
    /// drawing on the escrow until withdraw.
    function requestWithdraw(address token, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 bal = _escrow[msg.sender][token];
        if (amount > bal) revert OverBalance(amount, bal);
        uint64 readyAt = uint64(block.timestamp) + notice;
        _withdrawals[msg.sender][token] = Pending(amount, readyAt);
        emit WithdrawRequested(msg.sender, token, amount, readyAt);
    }

    /// Pays out the pending withdrawal once its notice is over: the requested
    /// amount, or what redemptions left of the escrow if that is less.
    function withdraw(address token) external nonReentrant {
        Pending memory p = _withdrawals[msg.sender][token];
        if (p.amount == 0) revert NothingPending();
        if (block.timestamp < p.readyAt) revert NoticeNotOver(p.readyAt, uint64(block.timestamp));
        uint256 bal = _escrow[msg.sender][token];
        uint256 amount = p.amount < bal ? p.amount : bal;
        delete _withdrawals[msg.sender][token];
        _escrow[msg.sender][token] = bal - amount;
        emit Withdrawn(msg.sender, token, amount);
        _send(token, msg.sender, amount);
    }

    // ---- vouchers ----

    /// Redeems the requester's latest voucher to v.provider: pays the
    /// provider (cumulative - redeemed) less the provider's fee and charges the
    /// escrow (cumulative - redeemed) plus the requester's fee; both fees go to
    /// the treasury. Anyone may submit it. Refused whole if the escrow cannot
    /// cover the charge. Fees round down (in the payers' favour).
    function redeem(Voucher calldata v, bytes calldata sig) external nonReentrant returns (uint256 paid) {
        if (v.requester == address(0) || v.provider == address(0)) revert ZeroAddress();
        address signer = _signer(voucherDigest(v), sig);
        if (signer != v.requester) revert WrongSigner(signer, v.requester);
        uint256 prev = _redeemed[v.requester][v.provider][v.token];
        if (v.cumulative <= prev) revert NotNewer(v.cumulative, prev);
        (uint256 rFee, uint256 pFee) = _charge(v, v.cumulative - prev);
        _redeemed[v.requester][v.provider][v.token] = v.cumulative;
        paid = v.cumulative - prev - pFee;
        emit Redeemed(v.requester, v.provider, v.token, v.cumulative, v.nonce, paid, rFee, pFee);

        _send(v.token, v.provider, paid);
        _send(v.token, treasury, rFee + pFee);
    }

    /// Takes delta plus the requester's fee from v's escrow, whole or not at
    /// all, and returns both sides' fees (each rounded down).
    function _charge(Voucher calldata v, uint256 delta) private returns (uint256 rFee, uint256 pFee) {
        (uint16 rBP, uint16 pBP) = fee(v.token);
        rFee = delta * rBP / BP;
        pFee = delta * pBP / BP;
        uint256 charge = delta + rFee;
        uint256 bal = _escrow[v.requester][v.token];
        if (charge > bal) revert OverEscrow(charge, bal);
        _escrow[v.requester][v.token] = bal - charge;
    }

    // ---- stake ----

    /// Stakes amount of the stake token (approved beforehand) for the sender.
    function stake(uint256 amount) external nonReentrant {
        if (stakeToken == address(0)) revert WrongToken(address(0));
        uint256 got = _pull(stakeToken, amount);
        _stake[msg.sender] += got;
        emit Staked(msg.sender, got);
    }

    /// Stakes the native coin sent, when the stake token is the native coin.
    function stakeNative() external payable nonReentrant {
        if (stakeToken != address(0)) revert WrongToken(stakeToken);
        if (msg.value == 0) revert ZeroAmount();
        _stake[msg.sender] += msg.value;
        emit Staked(msg.sender, msg.value);
    }

    /// Starts the notice period for taking amount of the sender's stake out;
    /// it replaces a pending request. The stake stays slashable until unstake.
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 bal = _stake[msg.sender];
        if (amount > bal) revert OverBalance(amount, bal);
        uint64 readyAt = uint64(block.timestamp) + notice;
        _unstaking[msg.sender] = Pending(amount, readyAt);
        emit UnstakeRequested(msg.sender, amount, readyAt);
    }

    /// Pays out the pending unstaking once its notice is over: the requested
    /// amount, or what slashing left if that is less.
    function unstake() external nonReentrant {
        Pending memory p = _unstaking[msg.sender];
        if (p.amount == 0) revert NothingPending();
        if (block.timestamp < p.readyAt) revert NoticeNotOver(p.readyAt, uint64(block.timestamp));
        uint256 bal = _stake[msg.sender];
        uint256 amount = p.amount < bal ? p.amount : bal;
        delete _unstaking[msg.sender];
        _stake[msg.sender] = bal - amount;
        emit Unstaked(msg.sender, amount);
        _send(stakeToken, msg.sender, amount);
    }

    /// Reports whether provider's stake, less any pending unstaking, reaches
    /// the minimum stake (a provider leaving cannot take jobs for staked
    /// providers during its notice).
    function isEligible(address provider) public view returns (bool) {
        uint256 s = _stake[provider];
        uint256 leaving = _unstaking[provider].amount;
        return s > 0 && s - (leaving < s ? leaving : s) >= minStake;
    }

    // ---- slashing ----

    /// Slashes the signer of two conflicting Works: the same key, the same job
    /// and rank, a different result or amount. slashBP of its stake is taken;
    /// rewardBP of that goes to the sender, the rest to the treasury. One
    /// offence (signer, job, rank) is slashed once.
    function slashConflict(Work calldata a, bytes calldata sigA, Work calldata b, bytes calldata sigB)
        external
        nonReentrant
        returns (uint256 amount)
    {
        if (a.job != b.job || a.rank != b.rank) revert NotConflicting();
        if (a.result == b.result && a.amount == b.amount) revert NotConflicting();
        address signer = _signer(workDigest(a), sigA);
        address other = _signer(workDigest(b), sigB);
        if (signer != other) revert DifferentSigners(signer, other);
        return _slash(signer, a.job, a.rank);
    }

    /// Slashes the signer of a Work whose audit failed: two Audits of the same
    /// job and rank, signed by two distinct keys other than the Work's
    /// signer, each eligible (staked) now, state the same result, and it is
    /// not the Work's. It proves that two staked providers contradict the
    /// accused, not who is right (docs/settlement.md, threat model). The
    /// offence (signer, job, rank) is the one slashConflict records: slashed
    /// once, whichever evidence came first.
    function slashAuditFailure(
        Work calldata w,
        bytes calldata sigW,
        Audit calldata a1,
        bytes calldata sig1,
        Audit calldata a2,
        bytes calldata sig2
    ) external nonReentrant returns (uint256 amount) {
        if (a1.job != w.job || a2.job != w.job || a1.rank != w.rank || a2.rank != w.rank) revert AuditsDisagree();
        if (a1.result != a2.result) revert AuditsDisagree();
        if (a1.result == w.result) revert NotConflicting();
        address accused = _signer(workDigest(w), sigW);
        address auditor1 = _signer(auditDigest(a1), sig1);
        address auditor2 = _signer(auditDigest(a2), sig2);
        if (auditor1 == auditor2) revert SameAuditor(auditor1);
        if (auditor1 == accused || auditor2 == accused) revert AuditorIsAccused(accused);
        if (!isEligible(auditor1)) revert AuditorNotEligible(auditor1);
        if (!isEligible(auditor2)) revert AuditorNotEligible(auditor2);
        return _slash(accused, w.job, w.rank);
    }

    /// Records the offence (signer, job, rank) and takes slashBP of signer's
    /// stake: rewardBP of it to the sender, the rest to the treasury.
    function _slash(address signer, bytes32 job, uint32 rank) private returns (uint256 amount) {
        bytes32 offence = keccak256(abi.encode(signer, job, rank));
        if (slashed[offence]) revert AlreadySlashed(offence);
        uint256 bal = _stake[signer];
        if (bal == 0) revert NoStake(signer);

        slashed[offence] = true;
        amount = bal * slashBP / BP;
        _stake[signer] = bal - amount;
        uint256 reward = amount * rewardBP / BP;
        emit Slashed(signer, msg.sender, job, rank, amount, reward);

        _send(stakeToken, msg.sender, reward);
        _send(stakeToken, treasury, amount - reward);
    }

    // ---- fees ----

    /// Sets token's fee schedule (owner only; each side at most MAX_FEE_BP).
    function setFee(address token, uint16 requesterBP, uint16 providerBP) external onlyOwner {
        if (requesterBP > MAX_FEE_BP || providerBP > MAX_FEE_BP) revert FeeTooHigh(requesterBP, providerBP);
        _fees[token] = Fee(requesterBP, providerBP, true);
        emit FeeSet(token, requesterBP, providerBP);
    }

    /// Hands fee governance to next (owner only).
    function setOwner(address next) external onlyOwner {
        if (next == address(0)) revert ZeroAddress();
        emit OwnerChanged(owner, next);
        owner = next;
    }

    // ---- views ----

    /// Returns token's fee on each side, in basis points.
    function fee(address token) public view returns (uint16 requesterBP, uint16 providerBP) {
        Fee memory f = _fees[token];
        if (!f.set) return (defaultFeeBP, defaultFeeBP);
        return (f.requesterBP, f.providerBP);
    }

    /// Returns requester's escrow in token.
    function escrow(address requester, address token) external view returns (uint256) {
        return _escrow[requester][token];
    }

    /// Returns requester's pending withdrawal in token.
    function pendingWithdrawal(address requester, address token)
        external
        view
        returns (uint256 amount, uint64 readyAt)
    {
        Pending memory p = _withdrawals[requester][token];
        return (p.amount, p.readyAt);
    }

    /// Returns the cumulative amount already redeemed from requester to provider in token.
    function redeemed(address requester, address provider, address token) external view returns (uint256) {
        return _redeemed[requester][provider][token];
    }

    /// Returns provider's stake (including any pending unstaking).
    function stakeOf(address provider) external view returns (uint256) {
        return _stake[provider];
    }

    /// Returns provider's pending unstaking.
    function pendingUnstake(address provider) external view returns (uint256 amount, uint64 readyAt) {
        Pending memory p = _unstaking[provider];
        return (p.amount, p.readyAt);
    }

    /// Returns the EIP-712 digest a requester signs for v.
    function voucherDigest(Voucher calldata v) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(VOUCHER_TYPEHASH, v.requester, v.provider, v.token, v.cumulative, v.nonce))
        );
    }

    /// Returns the EIP-712 digest a provider signs for w.
    function workDigest(Work calldata w) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(WORK_TYPEHASH, w.job, w.rank, w.result, w.amount, w.token, w.requester))
        );
    }

    /// Returns the EIP-712 digest an auditor signs for a.
    function auditDigest(Audit calldata a) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(AUDIT_TYPEHASH, a.job, a.rank, a.result)));
    }

    // ---- internals ----

    /// Recovers the signer of digest from a 65-byte r||s||v signature;
    /// OpenZeppelin's ECDSA refuses a high s, a wrong length and v other
    /// than 27 or 28.
    function _signer(bytes32 digest, bytes calldata sig) private pure returns (address) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, sig);
        if (err != ECDSA.RecoverError.NoError || signer == address(0)) revert BadSignature();
        return signer;
    }

    /// Takes amount of token from the sender and returns what arrived.
    function _pull(address token, uint256 amount) private returns (uint256) {
        if (amount == 0) revert ZeroAmount();
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 got = IERC20(token).balanceOf(address(this)) - before;
        if (got == 0) revert ZeroAmount();
        return got;
    }

    /// Sends amount of token (0 = native coin) to to; nothing when amount is 0.
    function _send(address token, address to, uint256 amount) private {
        if (amount == 0) return;
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert NativeTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }
}
