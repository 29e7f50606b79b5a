"""The pages' words in Chinese and English: one table, ``key -> (中文, English)``.

:func:`translator` returns a lookup for one language; an unknown key falls back to the English
text and then to the key itself, so a missing entry shows up as a readable key, never an error.
"""

from __future__ import annotations

from collections.abc import Callable

from gongsheng.entrypoints.web.i18n_audit import AUDIT_TEXT
from gongsheng.entrypoints.web.i18n_cases import CASE_TEXT
from gongsheng.entrypoints.web.i18n_parties import PARTY_TEXT

TEXT: dict[str, tuple[str, str]] = {
    # frame
    "brand": ("共生", "gongsheng"),
    "footer": ("积分与抵用券不可兑现、不可转让；预计完成时间为按当前释放率的推算，不是承诺。",
               "Points and vouchers are never cashable or transferable; projected completion is "
               "a projection at the current release rate, not a promise."),
    "login": ("登录", "Sign in"), "logout": ("退出", "Sign out"),
    "login:roles": ("平台、消费者、商家、商务经理、城市合伙人、地推人员均在此登录。",
                    "Operators, consumers, merchants, business managers, partners and promoters "
                    "all sign in here."),
    "login:failed": ("用户名或密码错误。", "Unknown username or wrong password."),
    "login:throttled": ("登录尝试过多，请稍后再试。", "Too many sign-in attempts; try again later."),
    "login:disabled": ("该账户已停用，请联系管理员。", "This account is disabled; ask an administrator."),
    "username": ("用户名", "Username"), "password": ("密码", "Password"),
    "back": ("返回", "Back"),
    "error:401": ("请先登录", "Sign in first"), "error:403": ("无权查看", "Not yours"),
    "error:404": ("未找到", "Not found"), "error:409": ("冲突", "Conflict"),
    "error:422": ("输入无效", "Invalid input"), "error:500": ("内部错误", "Internal error"),
    "role:admin": ("平台运营", "Operator"), "role:consumer": ("消费者", "Consumer"),
    "role:merchant": ("商家", "Merchant"), "role:bm": ("商务经理", "Business manager"),
    "role:partner": ("城市合伙人", "City partner"), "role:promoter": ("地推", "Ground promoter"),
    "none": ("暂无", "None yet"), "latest": ("最近", "latest"), "open": ("打开", "Open"),
    "name": ("名称", "Name"), "status": ("状态", "Status"), "active": ("营业中", "active"),
    "inactive": ("已停用", "inactive"), "period": ("期", "Period"), "party": ("参与方", "Party"),
    # admin
    "admin:title": ("平台运营看板", "Operator's dashboard"),
    "open_period": ("当前期", "Open period"), "since": ("始于", "since"),
    "close:button": ("结算并关闭", "Close period"),
    "close:confirm": ("确定结算并关闭当前期", "Close and release the period"),
    "closed_notice": ("已关闭", "Closed"),
    "find_party": ("按编号查看参与方", "Open a party by id"),
    "kpis": ("关键指标", "Key figures (MODEL.md §8)"),
    "kpis:note": ("当前期为实时计数；已关闭期的数字在结算时保存。",
                  "The open period shows live counters; a closed period shows the figures stored "
                  "at its close."),
    "col:live": ("当前期（实时）", "Open (live)"), "col:last": ("上一期", "Last closed"),
    "col:to_date": ("累计", "To date"),
    "gmv": ("交易额 GMV", "GMV"), "orders": ("订单", "Orders"),
    "average_order": ("客单价", "Average order"),
    "registered_consumers": ("注册消费者", "Registered consumers"),
    "active_consumers": ("活跃消费者", "Active consumers"),
    "purchases_per_active": ("人均购买次数", "Purchases per active consumer"),
    "merchants": ("商家", "Merchants"), "concession_income": ("让利收入", "Concession income"),
    "platform_revenue": ("平台收入", "Platform revenue"),
    "incentives_paid": ("激励合计", "Incentives paid"),
    "part:partner_dividend": ("　合伙人分红", "  partner dividend"),
    "part:ground_commission": ("　地推佣金", "  ground commission"),
    "part:bm_commission": ("　商务经理佣金", "  BM commission"),
    "part:acquisition_reward": ("　拓客奖励", "  acquisition reward"),
    "to_pool": ("进入分红池", "To the dividend pool"), "released": ("释放抵用券", "Vouchers released"),
    "vouchers_spent": ("抵用券消费", "Vouchers spent"), "refunds": ("退款", "Refunds"),
    "pool_available": ("分红池可用", "Pool available"), "pool_reserved": ("分红池储备", "Pool reserved"),
    "vouchers_outstanding": ("未使用抵用券", "Vouchers outstanding"),
    "unreleased_entitlement": ("待释放额度", "Unreleased entitlement"),
    "release_rate": ("释放率（每期占额度）", "Release rate (of cap per period)"),
    "nominal_rate": ("名义释放率 1/N", "Nominal rate 1/N"),
    "periods_at_rate": ("按此速率完成所需期数", "Periods to complete at this rate"),
    "users_share": ("用户与激励占比（目标 80%）", "Users and incentives share (80% target)"),
    "platform_share": ("平台占比（目标 20%）", "Platform share (20% target)"),
    "unfunded": ("超出资金池的释放", "Released beyond the pool (promise gap)"),
    "risk": ("风险提示", "Risk flags"), "flag": ("提示", "Flag"),
    "trigger": ("触发原因", "What triggered it"),
    "no_risk": ("暂无风险提示", "No risk flags"),
    "flag:release_below_nominal": ("释放慢于名义", "release below nominal"),
    "flag:coverage_above_threshold": ("覆盖率超过 80%", "coverage above 80%"),
    "flag:pool_coverage_below_1": ("资金池覆盖不足", "pool coverage below 1"),
    "flag:unfunded_release": ("无资金支撑的释放", "unfunded release"),
    "flag:velocity": ("下单过于频繁", "order burst"),
    "flag:wash_trading_suspect": ("疑似刷单", "wash trading suspect"),
    "flag:self_referral_suspect": ("疑似自我推荐", "self-referral suspect"),
    "flag:refund_after_release": ("释放后退款", "refund after release"),
    "regions_partners": ("区域与合伙人", "Regions and partners"), "region": ("区域", "Region"),
    "level": ("级别", "Level"), "parent": ("上级", "Parent"), "universe": ("商家总量（估）", "Universe"),
    "coverage": ("覆盖率", "Coverage"), "partner": ("合伙人", "Partner"),
    "investment": ("投资额", "Investment"), "vacant": ("空缺（份额入池）", "vacant (share to pool)"),
    "level:province": ("省", "province"), "level:city": ("市", "city"), "level:district": ("区", "district"),
    "merchants_by_channel": ("各渠道商家", "Merchants by channel"), "channel": ("渠道", "Channel"),
    "channel:mall": ("自营商城", "self-operated mall"), "channel:brand": ("品牌旗舰店", "brand store"),
    "channel:alliance": ("异业联盟", "alliance merchant"),
    "no_closed": ("尚无已关闭的期", "No closed period yet"),
    "chart:gmv": ("各期交易额（按渠道）", "GMV per period, by channel"),
    "chart:split": ("让利去向：平台 / 激励 / 分红池", "Concession split: platform / incentives / pool"),
    "chart:pool": ("分红池与未使用抵用券", "Pool and vouchers outstanding"),
    "chart:rate": ("释放率与名义 1/N", "Release rate against nominal 1/N"),
    "chart:coverage": ("各区域覆盖率", "Coverage by region"),
    "chart:sales": ("各期销售、让利与拓客奖励", "Sales, concession and rewards per period"),
    "chart:payback": ("分红与投资回收", "Dividends against the investment"),
    "chart:commissions": ("各期佣金", "Commissions per period"),
    "axis:yuan": ("元", "yuan"), "axis:pct": ("%", "%"), "axis:pct_cap": ("占额度 %", "% of cap"),
    "split:platform": ("平台", "platform"), "split:incentives": ("激励", "incentives"),
    "split:pool": ("分红池", "pool"),
    # participants
    "points": ("绿色积分", "Green points"), "vouchers": ("抵用券余额", "Vouchers"),
    "released_to_date": ("累计已释放", "Released to date"), "cap_total": ("释放上限", "Cap"),
    "voucher_debt": ("抵用券欠额", "Voucher debt"),
    "store_units": ("共享股东份额（积分）", "Store units (points)"),
    "referral_code": ("推荐码", "Referral code"), "holdings": ("积分释放进度", "Holdings and their release"),
    "start_period": ("开始释放期", "Starts"), "cap": ("上限", "Cap"),
    "released_of_cap": ("已释放 / 上限", "Released of cap"),
    "projection_periods": ("预计还需期数（推算）", "Periods left (projection)"),
    "not_started": ("下期开始", "starts next period"),
    "forecast_band": ("预测完成期（p10-p50-p90，推算）",
                      "Forecast completion period (p10-p50-p90, projection)"),
    "forecast": ("预测（推算，不是承诺）", "Forecast (a projection, not a promise)"),
    "forecast:none": ("尚无预测：每次结期后计算并保存。",
                      "No forecast yet: one is computed and stored after each close."),
    "forecast:meta": ("根据账本标定，自第 {p} 期起，{runs} 次蒙特卡洛模拟，控制器 {c}。",
                      "Calibrated on the books, from period {p} on, {runs} Monte Carlo runs, "
                      "controller {c}."),
    "forecast:coverage": ("分红池覆盖率（末期）", "Pool coverage (last period)"),
    "forecast:rate_now": ("释放率（下一期）", "Release rate (next period)"),
    "forecast:rate_last": ("释放率（末期）", "Release rate (last period)"),
    "forecast:nominal": ("名义 1/N", "nominal 1/N"),
    "forecast:new_holding": ("现在开始的积分需要的期数", "Periods a holding started now takes"),
    "forecast:note": ("区间为 p10-p50-p90：这是推算，不是承诺；释放率随分红池的实际资金变化。",
                      "Bands are p10-p50-p90: a projection, not a promise; the rate follows what the "
                      "pool can pay."),
    "projection": ("预计完成（推算）", "Projected completion"),
    "projection:text": ("按当前释放率 {rate}/期，约 {n} 期后全部释放完毕。",
                        "at the current rate of {rate} of cap per period, all holdings complete in "
                        "about {n} periods."),
    "projection:none": ("尚无释放率，无法推算。", "no release rate yet, nothing to project."),
    "projection:note": ("这是按上期释放率的推算，不是承诺：释放率随分红池的实际资金变化。",
                        "This is a projection at the last period's rate, not a promise: the rate "
                        "follows what the pool can pay."),
    "merchant": ("商家", "Merchant"), "consumer": ("消费者", "Consumer"), "amount": ("金额", "Amount"),
    "paid_with_vouchers": ("抵用券支付", "Paid with vouchers"),
    "points_earned": ("获得积分", "Points earned"),
    "refunded": ("已退款", "Refunded"),
    "concession_rate": ("让利比例", "concession"), "sales_to_date": ("累计销售额", "Sales to date"),
    "concession_to_date": ("累计让利", "Concession to date"),
    "acquisition_rewards": ("拓客奖励", "Acquisition rewards"),
    "settlement_balance": ("结算余额", "Settlement balance"), "sales": ("销售额", "Sales"),
    "concession": ("让利", "Concession"), "vouchers_accepted": ("收取抵用券", "Vouchers accepted"),
    "sales_by_period": ("各期经营", "Sales per period"),
    "points_release": ("积分与释放", "Points and their release"),
    "store_programme": ("共享股东计划", "Shared-shareholder programme"),
    "no_programme": ("未开设共享股东计划", "No shared-shareholder programme"),
    "units_sold": ("已售份额", "Units sold"), "unit_price": ("每份积分", "Unit price (points)"),
    "profit_share": ("分润比例", "Profit share"), "holders": ("持有人", "Holders"),
    "paid_total": ("累计分润", "Paid in total"), "profit": ("申报利润", "Declared profit"),
    "paid_to_holders": ("分给持有人（抵用券）", "Paid to holders (vouchers)"),
    "lifetime_commissions": ("累计佣金", "Lifetime commissions"),
    "bound_merchants": ("绑定商家", "Bound merchants"), "cash_balance": ("现金余额", "Cash balance"),
    "category": ("品类", "Category"), "bm_rate": ("佣金比例（销售额）", "BM rate (of sales)"),
    "commissions": ("佣金", "Commissions"), "commissions_by_period": ("各期佣金", "Commissions per period"),
    "paid_out": ("已提现", "Paid out"), "signed_merchants": ("签约商家", "Signed merchants"),
    "dividends_total": ("累计分红", "Dividends to date"), "payback": ("投资回收率", "Payback"),
    "payback_period": ("回本期", "Paid back in"), "not_yet": ("尚未回本", "not yet"),
    "region_figures": ("区域数据", "Region figures"), "dividend": ("分红", "Dividend"),
    "cumulative": ("累计", "Cumulative"), "of_investment": ("占投资", "Of investment"),
    "dividends_by_period": ("各期分红", "Dividends per period"), "team": ("地推团队", "Ground team"),
    "team_commissions": ("团队佣金合计", "team commissions"),
    "team:note": ("地推佣金付给签约的地推人员，此处列出供合伙人查看。",
                  "Ground commissions are paid to the promoter who signed the merchant; the partner "
                  "sees them here."),
}

TEXT.update({  # the compliance attestation page
    "act:attestation": ("合规证明", "Attestation"),
    "att:title": ("合规证明（按期）", "Compliance attestation per period"),
    "att:intro": ("每个已结算期的可机器核验声明及其证据；文件经平台 Ed25519 私钥签名，可用公钥离线核验"
                  "（gongsheng attest --verify）。",
                  "Machine-checkable statements with their evidence for each closed period; the "
                  "file is signed with the platform's Ed25519 key and checks offline with its public "
                  "key (gongsheng attest --verify)."),
    "att:none": ("尚无已结算的期。", "No period is closed yet."),
    "att:period": ("期", "Period"), "att:show": ("查看", "Show"),
    "att:holds": ("全部成立", "Every statement holds"),
    "att:fails": ("有声明不成立", "A statement does not hold"),
    "att:statement": ("声明", "Statement"), "att:rule": ("依据", "Rule"),
    "att:result": ("结果", "Result"), "att:evidence": ("证据", "Evidence"),
    "att:ok": ("成立", "holds"), "att:fail": ("不成立", "fails"),
    "att:download": ("下载签名文件", "Download the signed file"),
    "att:public_key": ("平台公钥", "Platform public key"),
    "att:rewards_one_direct_relationship": (
        "奖励只付给一层直接关系",
        "Rewards pay on one direct relationship only"),
    "att:parts_paid_to_direct_relations": (
        "各项分配只付给订单的直接关系方",
        "Every part paid to the order's direct relation"),
    "att:no_consumer_join_or_upgrade_fee": (
        "未向消费者收取入会或升级费",
        "No consumer join or upgrade fee"),
    "att:points_and_vouchers_never_cashed_or_transferred": (
        "积分与抵用券未兑现、未转让", "Points and vouchers never cashed or transferred"),
    "att:partner_dividends_from_own_region_only": (
        "合伙人分红只来自本区域让利，不来自招募",
        "Partner dividends from their own region only, none from recruiting"),
    "att:budget_release_within_pool": (
        "预算模式下释放未超过分红池",
        "Under budget, no release exceeded the pool"),
    "att:promise_gap_and_pool_coverage": (
        "与名义承诺的差距及分红池对抵用券的覆盖",
        "Gap to the nominal promise and the pool's coverage of vouchers"),
    "att:period_sealed": (
        "本期账簿封存（防篡改）",
        "The period's books are sealed (tamper evidence)"),
})
TEXT.update(PARTY_TEXT)  # the pages where parties act
TEXT.update(CASE_TEXT)  # abuse cases and the ring detectors' flags
TEXT.update(AUDIT_TEXT)  # the operator's audit log

LANG_INDEX = {"zh": 0, "en": 1}


def translator(lang: str) -> Callable[[str], str]:
    """The lookup for ``lang`` (``zh`` or ``en``)."""
    index = LANG_INDEX.get(lang, 1)

    def translate(key: str) -> str:
        pair = TEXT.get(key)
        return key if pair is None else pair[index]

    return translate


__all__ = ["TEXT", "translator"]
