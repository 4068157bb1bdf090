"""Estimators of a stock's execution parameters from its tape, quotes and a desk's executions, each with a
standard error and its method named.

Days are taken as independent draws: a quantity measured once a day (a variance, a volume, an average spread)
is estimated by its mean over the days with the standard error of that mean; regressions report their own
standard errors (heteroskedasticity- and autocorrelation-consistent where the errors may be correlated).

* :func:`volatility`: σ per √day from the quoted mid sampled every second, by the two-scale realized variance
  of Zhang, Mykland & Aït-Sahalia (2005), "A tale of two time scales", JASA 100(472), which removes the bias
  of microstructure noise (the quotes' tick rounding) that plain realized variance at 1 s would carry.
* :func:`quoted_half_spread`: the time-weighted mean of (ask − bid)/2.
* :func:`daily_volume` and :func:`volume_profile`: shares a day, and the fraction of each day's volume in each
  equal bucket of the trading day (:func:`daily_volume_fractions`).
* :func:`lee_ready_signs`: trade signs by Lee & Ready (1991), "Inferring trade direction from intraday data",
  J. Finance 46(2): above the prevailing mid a buy, below a sell, at it the tick test.
* :func:`flow_impact`: Kyle's λ, the mid's move per share of net signed volume, by OLS over bars with
  Newey–West standard errors.
* :func:`metaorder_table`, :func:`permanent_impact` and :func:`temporary_impact`: from a desk's metaorders, as
  Almgren, Thum, Hauptmann & Li (2005), "Direct estimation of equity market impact", Risk 18(7): the permanent
  impact γ from the mid's move between a metaorder's arrival and its end (weighted least squares on the desk's
  signed volume over it), and the temporary impact per share c·(v/v_ref)^α at the trading rate v from its
  shortfall beyond the half spread (nonlinear least squares, with the permanent impact of the desk's fills
  during the order fitted beside).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.optimize
import scipy.stats
import statsmodels.api as sm

from execgym.calibration.formats import REGULAR, Session


@dataclass(frozen=True)
class Estimate:
    """A number estimated from data: its value, standard error, units, how it was estimated and the degrees of
    freedom of its Student-t interval (inf: normal)."""

    value: float
    standard_error: float
    unit: str
    method: str
    degrees_of_freedom: float = math.inf

    @property
    def interval(self) -> tuple[float, float]:
        """The 95 % interval: value ± t₀.₉₇₅(degrees of freedom) standard errors."""
        half = float(scipy.stats.t.ppf(0.975, self.degrees_of_freedom)) * self.standard_error
        return self.value - half, self.value + half

    def __str__(self) -> str:
        low, high = self.interval
        return f"{self.value:.6g} {self.unit} (95 % CI [{low:.6g}, {high:.6g}])".replace("  ", " ")


@dataclass(frozen=True)
class JointEstimate:
    """Numbers estimated together, with their covariance: redrawn jointly (a multivariate Student t)."""

    names: tuple[str, ...]
    values: np.ndarray
    covariance: np.ndarray
    degrees_of_freedom: float

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        """values + L·z·√(ν/χ²_ν) (L the covariance's Cholesky factor; a normal for ν infinite)."""
        shocks = np.linalg.cholesky(self.covariance) @ rng.standard_normal(len(self.names))
        if math.isfinite(self.degrees_of_freedom):
            shocks *= math.sqrt(self.degrees_of_freedom / rng.chisquare(self.degrees_of_freedom))
        return dict(zip(self.names, (self.values + shocks).tolist()))


def _over_days(values: pd.Series, unit: str, method: str) -> Estimate:
    """The mean of one value per day, with the standard error of the mean across days."""
    values = values.to_numpy(dtype=np.float64)
    error = float(np.std(values, ddof=1) / math.sqrt(values.size)) if values.size > 1 else math.nan
    return Estimate(float(np.mean(values)), error, unit, f"{method}; mean over {values.size} days, standard error "
                    "across days", degrees_of_freedom=values.size - 1)


def mid_grid(quotes: pd.DataFrame, seconds: float) -> pd.DataFrame:
    """The quoted mid (bid + ask)/2 prevailing at every ``seconds`` of each day, from each day's first quote
    to its last: columns day, timestamp, mid."""
    frames = []
    for day, group in quotes.groupby(quotes["timestamp"].dt.normalize()):
        grid = pd.date_range(group["timestamp"].iloc[0].ceil(f"{seconds}s"), group["timestamp"].iloc[-1],
                             freq=pd.Timedelta(seconds=seconds))
        mids = ((group["bid"] + group["ask"]) / 2.0).to_numpy()
        index = np.searchsorted(group["timestamp"].to_numpy(), grid.to_numpy(), side="right") - 1
        frames.append(pd.DataFrame({"day": day, "timestamp": grid, "mid": mids[index]}))
    return pd.concat(frames, ignore_index=True)


def two_scale_variance(prices: np.ndarray, slow: int) -> float:
    """The two-scale realized variance of one day's prices sampled on a regular fine grid (n returns): the mean
    over the ``slow`` offsets of the realized variance of every slow-th price, less (n̄/n) times the fine
    realized variance (n̄ = (n − slow + 1)/slow), scaled by 1/(1 − n̄/n)."""
    returns = np.diff(prices)
    n = returns.size
    fine = float(returns @ returns)
    slow_sums = [np.diff(prices[offset::slow]) for offset in range(slow)]
    averaged = float(np.mean([r @ r for r in slow_sums]))
    ratio = (n - slow + 1) / slow / n
    return (averaged - ratio * fine) / (1.0 - ratio)


def volatility(quotes: pd.DataFrame, fine_seconds: float = 1.0, slow_seconds: float = 300.0,
               executions: pd.DataFrame | None = None, permanent: float = 0.0, session: Session = REGULAR) -> Estimate:
    """σ, currency per share per √day (a day = the ``session``): √ of the mean over days of the two-scale
    realized variance of the quoted mid (module docstring), scaled to a full session from each day's span of
    quotes; its standard error by the delta method, SE(σ²)/(2σ). With a desk's ``executions`` and its estimated
    ``permanent`` impact γ the mid is first taken net of the desk's own impact, γ·(its signed volume so far
    that day): the volatility the desk faces is the market's, not its own metaorders' trends."""
    grid = mid_grid(quotes, fine_seconds)
    if executions is not None:
        fills = executions.sort_values("timestamp", kind="stable")
        day = fills["timestamp"].dt.normalize()
        own = (fills["side"] * fills["size"]).groupby(day).cumsum().to_numpy()
        index = np.searchsorted(fills["timestamp"].to_numpy(), grid["timestamp"].to_numpy(), side="right") - 1
        same_day = (index >= 0) & (day.to_numpy()[np.maximum(index, 0)] == grid["day"].to_numpy())
        grid["mid"] -= permanent * np.where(same_day, own[np.maximum(index, 0)], 0.0)
    slow = int(round(slow_seconds / fine_seconds))
    daily = grid.groupby("day")["mid"].apply(
        lambda mids: two_scale_variance(mids.to_numpy(), slow) * session.seconds / (fine_seconds * (mids.size - 1)))
    variance = _over_days(daily, "currency² per share² per day", "")
    sigma = math.sqrt(max(variance.value, 0.0))
    own_impact = ", net of the desk's own impact" if executions is not None else ""
    return Estimate(sigma, variance.standard_error / (2.0 * sigma) if sigma > 0 else math.nan,
                    "currency per share per √day",
                    f"two-scale realized variance (Zhang, Mykland & Aït-Sahalia 2005) of the quoted mid at "
                    f"{fine_seconds:g} s, slow scale {slow_seconds:g} s{own_impact}{variance.method}",
                    variance.degrees_of_freedom)


def quoted_half_spread(quotes: pd.DataFrame) -> Estimate:
    """ε, currency per share: each day's time-weighted mean of (ask − bid)/2, each quote weighted by how long it
    stood (the day's last by none), averaged over the days."""
    def day_mean(group: pd.DataFrame) -> float:
        held = group["timestamp"].diff().shift(-1).dt.total_seconds().fillna(0.0).to_numpy()
        return float(((group["ask"] - group["bid"]).to_numpy() / 2.0) @ held / held.sum())

    daily = quotes.groupby(quotes["timestamp"].dt.normalize()).apply(day_mean, include_groups=False)
    return _over_days(daily, "currency per share", "time-weighted mean of (ask − bid)/2 over each day")


def daily_volume(trades: pd.DataFrame) -> Estimate:
    """V, shares a day: each day's total size."""
    daily = trades.groupby(trades["timestamp"].dt.normalize())["size"].sum()
    return _over_days(daily, "shares per day", "the tape's shares each day")


def daily_volume_fractions(trades: pd.DataFrame, buckets: int, session: Session = REGULAR) -> np.ndarray:
    """(days, buckets): each day's fraction of its tape volume in each of ``buckets`` equal parts of the
    ``session`` (a trade at the close in the last); ValueError if a trade is outside the session."""
    position = session.since_open(trades["timestamp"]) / session.seconds
    if np.any((position < 0.0) | (position > 1.0)):
        raise ValueError(f"trades outside the session {session}: keep the session's rows (formats.within_session)")
    bucket = np.minimum(np.floor(position * buckets).astype(int), buckets - 1)
    table = pd.crosstab(trades["timestamp"].dt.normalize(), bucket, values=trades["size"], aggfunc="sum")
    table = table.reindex(columns=range(buckets)).fillna(0.0).to_numpy()
    return table / table.sum(axis=1, keepdims=True)


def volume_profile(fractions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the mean over days of :func:`daily_volume_fractions`, its standard errors across days; NaN for one
    day)."""
    days = fractions.shape[0]
    errors = fractions.std(axis=0, ddof=1) / math.sqrt(days) if days > 1 else np.full(fractions.shape[1], math.nan)
    return fractions.mean(axis=0), errors


def bar_volatility(bars: pd.DataFrame, session: Session = REGULAR) -> Estimate:
    """σ, currency per share per √day (a day = the ``session``), from OHLC bars: each day's realized variance of
    its bar-to-bar price changes (the first bar's open to its close, then close to close), scaled to a full
    session from the bars' span; its standard error by the delta method across days."""
    def day_variance(group: pd.DataFrame) -> float:
        prices = np.r_[group["open"].iloc[0], group["close"].to_numpy()]
        span = (group["timestamp"].iloc[-1] - group["timestamp"].iloc[0]).total_seconds()
        span *= len(group) / max(len(group) - 1, 1)                   # the first bar's own length too
        return float(np.sum(np.diff(prices) ** 2) * session.seconds / span)

    variance = _over_days(bars.groupby(bars["timestamp"].dt.normalize()).apply(day_variance, include_groups=False),
                          "", "")
    sigma = math.sqrt(variance.value)
    return Estimate(sigma, variance.standard_error / (2.0 * sigma), "currency per share per √day",
                    f"realized variance of bar-to-bar closes{variance.method}", variance.degrees_of_freedom)


def bar_half_spread(bars: pd.DataFrame) -> Estimate:
    """ε, currency per share: each day's mean of the bars' spread / 2."""
    daily = (bars["spread"] / 2.0).groupby(bars["timestamp"].dt.normalize()).mean()
    return _over_days(daily, "currency per share", "mean of the bars' spread / 2 over each day")


def bar_daily_volume(bars: pd.DataFrame) -> Estimate:
    """V, shares a day: each day's bar volumes summed."""
    return _over_days(bars.groupby(bars["timestamp"].dt.normalize())["volume"].sum(), "shares per day",
                      "the bars' volume each day")


def bar_volume_fractions(bars: pd.DataFrame) -> np.ndarray:
    """(days, bars a day): each day's fraction of its volume in each bar (every day has the same bar grid,
    :func:`~.formats.read_bars`)."""
    day = bars["timestamp"].dt.normalize()
    volumes = bars["volume"].to_numpy().reshape(day.nunique(), -1)
    return volumes / volumes.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Covariance:
    """Several stocks' daily covariance of mid changes and its one-factor model."""

    names: tuple[str, ...]
    matrix: np.ndarray      # (m, m) currency² per share² per day
    errors: np.ndarray      # (m, m) standard errors across days
    days: int
    loadings: np.ndarray    # (m,) β of the one-factor model of the correlations (maximum likelihood)
    method: str

    @property
    def correlation(self) -> np.ndarray:
        """The correlation matrix of :attr:`matrix`."""
        scale = np.sqrt(np.diag(self.matrix))
        return self.matrix / np.outer(scale, scale)


def realized_covariance(quotes: dict[str, pd.DataFrame], seconds: float = 300.0,
                        session: Session = REGULAR) -> Covariance:
    """Each day's realized covariance of the stocks' quoted mids sampled together every ``seconds`` (the grid's
    times all stocks quoted), scaled to a full ``session`` from its span; the mean over days with standard errors across
    days; and the one-factor model of its correlation (statsmodels' maximum likelihood factor analysis, signs
    making the loadings' sum positive)."""
    from statsmodels.multivariate.factor import Factor
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    names = tuple(quotes)
    grids = [mid_grid(frame, seconds).set_index("timestamp")["mid"].rename(name) for name, frame in quotes.items()]
    joint = pd.concat(grids, axis=1, join="inner")
    daily = []
    for _, day in joint.groupby(joint.index.normalize()):
        changes = np.diff(day.to_numpy(), axis=0)
        span = (day.index[-1] - day.index[0]).total_seconds()
        daily.append(changes.T @ changes * session.seconds / span)
    daily = np.array(daily)
    if daily.shape[0] < 2:
        raise ValueError("the stocks' quotes share fewer than two days: no covariance across days")
    matrix = daily.mean(axis=0)
    errors = daily.std(axis=0, ddof=1) / math.sqrt(daily.shape[0])
    scale = np.sqrt(np.diag(matrix))
    loadings = np.zeros(len(names))
    converged = True
    if len(names) > 2:   # a one-factor model of two correlations is not identified
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            fit = Factor(endog=None, n_factor=1, corr=matrix / np.outer(scale, scale), method="ml",
                         nobs=int(joint.shape[0])).fit()
        converged = not any(issubclass(warning.category, ConvergenceWarning) for warning in caught)
        loadings = fit.loadings.ravel() * (1.0 if fit.loadings.sum() >= 0 else -1.0)
    return Covariance(names, matrix, errors, daily.shape[0], loadings,
                      f"realized covariance of the quoted mids every {seconds:g} s; mean over {daily.shape[0]} days, "
                      "standard errors across days; one-factor model by maximum likelihood"
                      + ("" if converged else " (its fit did not converge: the loadings are approximate)"))


def prevailing_quotes(events: pd.DataFrame, quotes: pd.DataFrame) -> pd.DataFrame:
    """The bid and ask in force just before each event's timestamp (the last quote strictly earlier), for
    events sorted by time; NaN before a day's first quote."""
    quoted = quotes[["timestamp", "bid", "ask"]].rename(columns={"timestamp": "quote_time"})
    order = np.argsort(events["timestamp"].to_numpy(), kind="stable")
    merged = pd.merge_asof(events.iloc[order].reset_index(names="row"), quoted, left_on="timestamp",
                           right_on="quote_time", allow_exact_matches=False)
    same_day = merged["quote_time"].dt.normalize() == merged["timestamp"].dt.normalize()
    merged.loc[~same_day, ["bid", "ask"]] = np.nan
    return merged.sort_values("row").set_index("row")[["bid", "ask"]]


def trade_signs(trades: pd.DataFrame, quotes: pd.DataFrame) -> np.ndarray:
    """+1 (buy) or −1 (sell) per trade: its ``side`` where the tape has one, Lee–Ready where it has none (no
    column, or NaN: e.g. LOBSTER's hidden executions)."""
    inferred = lee_ready_signs(trades, quotes)
    if "side" not in trades:
        return inferred
    side = trades["side"].to_numpy(dtype=np.float64)
    return np.where(np.isnan(side), inferred, side)


def lee_ready_signs(trades: pd.DataFrame, quotes: pd.DataFrame) -> np.ndarray:
    """+1 (buy) or −1 (sell) per trade (Lee & Ready): above the prevailing quoted mid a buy, below it a sell;
    at it (or with no quote yet) the tick test, the sign of the last price change (an uptick a buy), and +1
    where no price has changed yet."""
    quote = prevailing_quotes(trades, quotes)
    mid = ((quote["bid"] + quote["ask"]) / 2.0).to_numpy()
    price = trades["price"].to_numpy()
    by_quote = np.sign(price - mid)
    change = np.sign(np.diff(price, prepend=price[0]))
    tick = pd.Series(np.where(change == 0, np.nan, change)).ffill().fillna(1.0).to_numpy()
    return np.where(np.isnan(by_quote) | (by_quote == 0), tick, by_quote)


def flow_impact(trades: pd.DataFrame, signs: np.ndarray, quotes: pd.DataFrame, bar_seconds: float = 300.0
                ) -> Estimate:
    """Kyle's λ, currency per share per share: OLS of each bar's change of the quoted mid on its net signed
    volume Σ s·q (with an intercept), Newey–West standard errors (5 lags)."""
    grid = mid_grid(quotes, bar_seconds)
    grid["change"] = grid.groupby("day")["mid"].diff()
    bars = grid.dropna(subset=["change"])
    end = bars["timestamp"].to_numpy()
    start = end - np.timedelta64(int(bar_seconds * 1e6), "us")
    cumulative = np.concatenate([[0.0], np.cumsum(signs * trades["size"].to_numpy())])
    times = trades["timestamp"].to_numpy()
    flow = cumulative[np.searchsorted(times, end, side="right")] - cumulative[np.searchsorted(times, start,
                                                                                             side="right")]
    fit = sm.OLS(bars["change"].to_numpy(), sm.add_constant(flow)).fit(cov_type="HAC", cov_kwds={"maxlags": 5})
    return Estimate(float(fit.params[1]), float(fit.bse[1]), "currency per share per share",
                    f"OLS of the quoted mid's change over {bar_seconds:g} s bars on their net signed volume "
                    f"({bars.shape[0]} bars), Newey–West standard errors")


@dataclass(frozen=True)
class FillIntensity:
    """λ(δ) = A·e^{−kδ}: the rate, per side and per day, of market orders reaching a quote resting at depth δ
    from the quoted mid (the market-making model's order flow)."""

    arrival_rate: Estimate       # A, market orders per day per side at depth 0
    depth_decay: Estimate        # k, per currency
    depths: np.ndarray           # each market order's depth reached, currency from the prevailing quoted mid
    touches: np.ndarray          # the quoted half spread each met, currency
    days: int

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        """A redraw of (A, k) from their joint sampling distribution: k from its normal, then
        A = n/(2·days)·mean(e^{k·h_i})·e^{z/√n} (the count's own Poisson noise, z standard normal)."""
        decay = self.depth_decay.value + self.depth_decay.standard_error * float(rng.standard_normal())
        count = self.depths.size
        rate = count / (2.0 * self.days) * float(np.mean(np.exp(decay * self.touches)))
        return {"arrival_rate": rate * math.exp(float(rng.standard_normal()) / math.sqrt(count)), "depth_decay": decay}


def fill_intensity(trades: pd.DataFrame, signs: np.ndarray, quotes: pd.DataFrame) -> FillIntensity:
    """A and k from the depths market orders reached: each order (a print, signed ``signs``) reaches
    δ_i = s_i·(p_i − mid_i) from the prevailing quoted mid, h_i (the quoted half spread) at the touch plus
    e_i beyond it. With e_i exponential, k = 1/mean(e) (maximum likelihood, standard error k/√n) and, as an order
    reaches δ with probability E[e^{−k(δ − h)}], A = n/(2·days)·mean(e^{k·h_i}), its standard error by the delta
    method (the count Poisson, and k's). Prints inside the spread (e_i < 0) are left out and counted."""
    quote = prevailing_quotes(trades, quotes)
    mid, half = ((quote["bid"] + quote["ask"]) / 2.0).to_numpy(), ((quote["ask"] - quote["bid"]) / 2.0).to_numpy()
    depth = signs * (trades["price"].to_numpy() - mid)
    beyond = depth - half
    usable = np.isfinite(beyond) & (beyond >= 0)
    excess, touch = beyond[usable], half[usable]
    count, days = excess.size, trades["timestamp"].dt.normalize().nunique()
    if count < 2 or excess.mean() <= 0:
        raise ValueError("the tape's prints do not go beyond the touch: no depth profile to fit A and k to")
    decay = 1.0 / excess.mean()
    if decay * touch.max() > 700.0:
        raise ValueError(f"the tape's prints barely go beyond the touch (mean {excess.mean():.3g} currency): no depth "
                         "profile to fit A and k to")
    decay_error = decay / math.sqrt(count)
    weights = np.exp(decay * touch)
    rate = count / (2.0 * days) * weights.mean()
    slope = float((touch * weights).mean() / weights.mean())       # d ln mean(e^{kh}) / dk
    rate_error = rate * math.sqrt(1.0 / count + (slope * decay_error) ** 2)
    left_out = int((~usable).sum())
    method = (f"depths of {count} market orders beyond the prevailing quoted touch, exponential maximum likelihood"
              + (f" ({left_out} prints inside the spread left out)" if left_out else ""))
    return FillIntensity(Estimate(rate, rate_error, "market orders per day per side", method),
                         Estimate(decay, decay_error, "per currency", method), depth[usable], touch, days)


@dataclass(frozen=True)
class LimitFills:
    """What a sell limit order resting d ticks behind the best ask (d = 0..L) meets in steps of ``step_seconds``:
    the mid's move per step and the fill probability of a lot by depth and move (LimitOrMarket's model)."""

    tick: float                     # currency
    spread_ticks: int               # the median quoted spread, whole ticks
    step_seconds: float
    move_probability: Estimate      # π: P(the mid moves in a step)
    drift: Estimate                 # μ: E[ΔS], ticks per step (ΔS the sign of the mid's change)
    conditional: np.ndarray         # (3, L + 1): p̂(d | ΔS = −1, 0, +1), the fraction of such steps it filled
    counts: np.ndarray              # (3,) steps with each move
    fill_probabilities: np.ndarray  # (L + 1,) p(d): p̂(d | ΔS = 0) made non-increasing (isotonic, by counts)
    adverse_selection: Estimate     # a: Σ_d (p̂(d|+1) − p̂(d|−1)) / Σ_d (p̂(d|+1) + p̂(d|−1))


def limit_fills(trades: pd.DataFrame, signs: np.ndarray, quotes: pd.DataFrame, step_seconds: float, max_depth: int,
                tick: float) -> LimitFills:
    """Each day cut into steps of ``step_seconds`` from its first quote: a lot resting d ticks behind the ask
    prevailing at a step's start fills in it if a buy reached that price before the step's end (every lot at a
    price fills together here, where the model fills them independently: the marginal probability is what is
    estimated); ΔS is the sign of the quoted mid's change over the step. π and μ are proportions (binomial
    standard errors), a pools the depths (delta-method standard error), and p(d) is the non-increasing table
    nearest the steps without a move."""
    grid = mid_grid(quotes, step_seconds)
    quote = prevailing_quotes(pd.DataFrame({"timestamp": grid["timestamp"] + pd.Timedelta(1, unit="us")}), quotes)
    grid["ask"], grid["spread"] = quote["ask"].to_numpy(), (quote["ask"] - quote["bid"]).to_numpy()
    grid["move"] = np.sign(grid.groupby("day")["mid"].shift(-1) - grid["mid"])
    buys = trades[signs > 0]
    step = np.searchsorted(grid["timestamp"].to_numpy(), buys["timestamp"].to_numpy(), side="right") - 1
    highest = pd.Series(buys["price"].to_numpy()).groupby(step).max()
    steps = grid.dropna(subset=["move", "ask"]).copy()
    steps["highest"] = highest.reindex(steps.index).to_numpy()
    reached = np.floor((steps["highest"].to_numpy() - steps["ask"].to_numpy()) / tick + 1e-6)   # NaN: no buy
    depths = np.arange(max_depth + 1)
    filled = reached[:, None] >= depths[None, :]                                                   # NaN >= d: False
    move = steps["move"].to_numpy().astype(int)
    conditional = np.array([filled[move == m].mean(axis=0) if np.any(move == m) else np.full(depths.size, np.nan)
                            for m in (-1, 0, 1)])
    counts = np.array([np.sum(move == m) for m in (-1, 0, 1)])
    n = move.size
    moved = np.abs(move).mean()
    mean_move = move.mean()
    up, down = conditional[2], conditional[0]
    total = (up + down).sum()
    adverse = (up - down).sum() / total
    # a = D/S with D, S sums of independent binomial proportions: var(a) ≈ (var D + a²·var S − 2a·cov)/S²
    var_up = (up * (1 - up)).sum() / counts[2]
    var_down = (down * (1 - down)).sum() / counts[0]
    adverse_error = math.sqrt(((1 - adverse) ** 2 * var_up + (1 + adverse) ** 2 * var_down)) / total
    table = scipy.optimize.isotonic_regression(conditional[1], weights=None, increasing=False).x
    method = f"{n} steps of {step_seconds:g} s over {grid['day'].nunique()} days"
    return LimitFills(
        tick=tick, spread_ticks=max(1, int(round(float(np.median(steps["spread"])) / tick))),
        step_seconds=step_seconds,
        move_probability=Estimate(float(moved), math.sqrt(moved * (1 - moved) / n), "per step",
                                  f"the share of {method} whose quoted mid changed"),
        drift=Estimate(float(mean_move), float(move.std(ddof=1) / math.sqrt(n)), "ticks per step",
                       f"the mean sign of the quoted mid's change over {method}"),
        conditional=conditional, counts=counts, fill_probabilities=np.asarray(table),
        adverse_selection=Estimate(float(adverse), adverse_error, "",
                                   f"fills after up moves against down moves, pooled over depths 0..{max_depth} ({method})"))


def _desk_volume(executions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(fill times, the desk's cumulative signed volume after each fill), over all its orders in time order."""
    fills = executions.sort_values("timestamp", kind="stable")
    return fills["timestamp"].to_numpy(), np.cumsum((fills["side"] * fills["size"]).to_numpy())


def _desk_volume_before(times: np.ndarray, cumulative: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The desk's cumulative signed volume strictly before each of ``at``."""
    index = np.searchsorted(times, at, side="left") - 1
    return np.where(index >= 0, cumulative[np.maximum(index, 0)], 0.0)


def metaorder_table(executions: pd.DataFrame, quotes: pd.DataFrame, session: Session = REGULAR) -> pd.DataFrame:
    """One row per metaorder of at least two fills at different times within one day (others are left out):
    side (±1), size Q, fills n, duration T = n·Δ (days of the ``session``, Δ the
    mean gap between fills), rate v = Q/T (shares a day), the quoted mid prevailing at its first fill
    (arrival) and one gap Δ after its last (after), its shortfall per share side·(average price − arrival),
    and the desk's signed volume (all its orders', this one's included) times the side: ``desk_flow`` from
    the arrival to the end, ``desk_flow_during`` since the arrival before each of this order's fills, averaged
    over them by size (for this order alone Q·(n − 1)/(2n))."""
    times, cumulative = _desk_volume(executions)
    before_fill = _desk_volume_before(times, cumulative, executions["timestamp"].to_numpy())
    frame = executions.assign(before_fill=before_fill)
    grouped = frame.groupby("order_id", sort=False)
    table = pd.DataFrame({
        "side": grouped["side"].first(), "size": grouped["size"].sum(), "fills": grouped["size"].size(),
        "first": grouped["timestamp"].min(), "last": grouped["timestamp"].max(),
        "average_price": grouped.apply(lambda g: float(g["price"] @ g["size"] / g["size"].sum()),
                                       include_groups=False),
        "flow_before_fills": grouped.apply(lambda g: float(g["before_fill"] @ g["size"] / g["size"].sum()),
                                           include_groups=False)})
    usable = (table["fills"] >= 2) & (table["last"] > table["first"]) \
        & (table["first"].dt.normalize() == table["last"].dt.normalize())
    table = table[usable].copy()
    gap = (table["last"] - table["first"]).dt.total_seconds() / (table["fills"] - 1)
    table["duration"] = table["fills"] * gap / session.seconds
    table["rate"] = table["size"] / table["duration"]
    end = table["last"] + pd.to_timedelta(gap, unit="s")
    arrival = prevailing_quotes(pd.DataFrame({"timestamp": table["first"].to_numpy()}), quotes)
    after = prevailing_quotes(pd.DataFrame({"timestamp": end.to_numpy()}), quotes)
    table["arrival"] = ((arrival["bid"] + arrival["ask"]) / 2.0).to_numpy()
    table["after"] = ((after["bid"] + after["ask"]) / 2.0).to_numpy()
    table["shortfall"] = table["side"] * (table["average_price"] - table["arrival"])
    at_arrival = _desk_volume_before(times, cumulative, table["first"].to_numpy())
    table["desk_flow"] = table["side"] * (_desk_volume_before(times, cumulative, end.to_numpy()) - at_arrival)
    table["desk_flow_during"] = table["side"] * (table["flow_before_fills"] - at_arrival)
    return table.drop(columns="flow_before_fills").dropna(subset=["arrival", "after"])


def _require_metaorders(metaorders: pd.DataFrame) -> None:
    """ValueError unless there are at least 3 metaorders over at least 2 days (the regressions' errors are
    clustered by day)."""
    days = metaorders["first"].dt.normalize().nunique() if len(metaorders) else 0
    if len(metaorders) < 3 or days < 2:
        raise ValueError(f"the executions give {len(metaorders)} usable metaorders over {days} day(s) (orders of at "
                         "least two fills at different times within one day, after the first quote): the impact "
                         "regressions need at least 3 over 2 days (their errors are clustered by day)")


def permanent_impact(metaorders: pd.DataFrame) -> Estimate:
    """γ, currency per share per share: weighted least squares through the origin of each metaorder's signed
    mid move side·(after − arrival) on the desk's signed volume over it (``desk_flow``: its own Q and the
    overlapping orders'), weights 1/T (the move's noise variance grows as σ²·T), standard errors clustered by
    day (orders of one day overlap and share the price's moves), with days − 1 degrees of freedom."""
    _require_metaorders(metaorders)
    move = (metaorders["side"] * (metaorders["after"] - metaorders["arrival"])).to_numpy()
    days = _day_codes(metaorders)
    fit = sm.WLS(move, metaorders["desk_flow"].to_numpy(), weights=1.0 / metaorders["duration"].to_numpy()
                 ).fit(cov_type="cluster", cov_kwds={"groups": days})
    clusters = int(days.max()) + 1
    return Estimate(float(fit.params[0]), float(fit.bse[0]), "currency per share per share",
                    f"WLS of {len(metaorders)} metaorders' mid move from arrival to end on the desk's signed volume "
                    f"over them (Almgren, Thum, Hauptmann & Li 2005), standard errors clustered by day ({clusters})",
                    clusters - 1)


def _day_codes(metaorders: pd.DataFrame) -> np.ndarray:
    """0, 1, ... for each metaorder's day (of its first fill)."""
    return pd.factorize(metaorders["first"].dt.normalize())[0]


@dataclass(frozen=True)
class TemporaryImpact:
    """The temporary impact per share beyond the half spread at the trading rate v (shares a day):
    c·(v/v_ref)^α, with c the cost at the reference rate v_ref (the metaorders' median rate)."""

    cost: Estimate              # c, currency per share at v_ref
    exponent: Estimate          # α
    reference_rate: float       # v_ref, shares per day
    permanent: Estimate         # γ fitted beside (the desk's own impact during its orders)
    joint: JointEstimate        # (temporary_cost, impact_exponent) with their covariance, for redraws

    def at(self, rate) -> np.ndarray:
        """c·(v/v_ref)^α at ``rate`` (shares a day), currency per share."""
        return self.cost.value * (np.asarray(rate, dtype=np.float64) / self.reference_rate) ** self.exponent.value


def temporary_impact(metaorders: pd.DataFrame, half_spread: float) -> TemporaryImpact:
    """Nonlinear least squares of each metaorder's shortfall per share less ``half_spread`` on
    c·(v/v_ref)^α + γ·``desk_flow_during`` (the permanent impact of the desk's fills since its arrival,
    its own included), weights 1/T (the price's diffusion over the order has variance ∝ σ²·T), with
    sandwich standard errors clustered by day (the day's orders overlap and share the price's moves), with
    days − 1 degrees of freedom."""
    _require_metaorders(metaorders)
    rate = metaorders["rate"].to_numpy()
    flow = metaorders["desk_flow_during"].to_numpy()
    target = metaorders["shortfall"].to_numpy() - half_spread
    reference = float(np.median(rate))
    weight = 1.0 / metaorders["duration"].to_numpy()

    def model(_, cost, alpha, gamma):
        return cost * (rate / reference) ** alpha + gamma * flow

    try:
        values, _ = scipy.optimize.curve_fit(model, rate, target, p0=(max(float(np.median(target)), 1e-9), 0.5, 0.0),
                                             sigma=1.0 / np.sqrt(weight), maxfev=20_000)
    except RuntimeError as error:
        raise ValueError(f"the temporary impact fit of {len(metaorders)} metaorders did not converge ({error}): "
                         "too few metaorders, or too little spread in their rates") from None
    cost, alpha, _ = values
    power = (rate / reference) ** alpha
    jacobian = np.column_stack([power, cost * power * np.log(rate / reference), flow])
    residuals = target - model(None, *values)
    bread = np.linalg.inv(jacobian.T @ (weight[:, None] * jacobian))
    days = _day_codes(metaorders)
    clusters = int(days.max()) + 1
    scores = np.zeros((clusters, jacobian.shape[1]))
    np.add.at(scores, days, jacobian * (weight * residuals)[:, None])
    n, p = jacobian.shape
    covariance = bread @ (scores.T @ scores) @ bread * clusters / (clusters - 1) * (n - 1) / (n - p)
    errors = np.sqrt(np.diag(covariance))
    method = (f"nonlinear least squares of {n} metaorders' shortfall beyond the half spread on c·(v/v_ref)^α + γ·(the "
              f"desk's signed volume since arrival), weights 1/T, sandwich standard errors clustered by day "
              f"({clusters}) (Almgren, Thum, Hauptmann & Li 2005)")
    return TemporaryImpact(Estimate(float(cost), float(errors[0]), "currency per share", method, clusters - 1),
                           Estimate(float(alpha), float(errors[1]), "", method, clusters - 1), reference,
                           Estimate(float(values[2]), float(errors[2]), "currency per share per share", method,
                                    clusters - 1),
                           JointEstimate(("temporary_cost", "impact_exponent"), np.array([cost, alpha]),
                                         covariance[:2, :2], clusters - 1))
