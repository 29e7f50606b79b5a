"""Webhook subscriptions, their deliveries and attempt logs (admin, or a platform key with
``webhooks:manage``)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from gongsheng.entrypoints.api.deps import MAX_ID, ActingPlatform, Limit, PlatformDep, RowsToSkip
from gongsheng.entrypoints.api.integration_access import WebhooksAdmin
from gongsheng.entrypoints.api.schemas_integration import (
    DeliveryList,
    DeliveryOut,
    SecretRotated,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionList,
)
from gongsheng.services import webhooks
from gongsheng.settings import Settings

router = APIRouter(tags=["webhooks"])
SubscriptionId = Annotated[int, Path(ge=1, le=MAX_ID, description="a subscription's id")]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID, description="a delivery's id")]


def _now() -> int:
    return int(time.time() * 1000)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post("/webhooks", status_code=201, response_model=SubscriptionCreated)
def create_webhook(body: SubscriptionIn, request: Request, _: WebhooksAdmin,
                   platform: ActingPlatform) -> SubscriptionCreated:
    """Subscribe a URL to event types; the answer carries the signing secret, once."""
    allow = _settings(request).webhooks_allow_private
    made = platform.run(webhooks.create_subscription, body.url, body.events, now_ms=_now(),
                        allow_private=allow)
    return SubscriptionCreated.model_validate(made)


@router.get("/webhooks", response_model=SubscriptionList)
def list_webhooks(_: WebhooksAdmin, platform: PlatformDep) -> SubscriptionList:
    """Every subscription (secrets are never shown again)."""
    return SubscriptionList.model_validate(
        {"items": platform.run(webhooks.list_subscriptions, now_ms=_now())})


@router.delete("/webhooks/{subscription_id}", status_code=204)
def delete_webhook(subscription_id: SubscriptionId, _: WebhooksAdmin,
                   platform: ActingPlatform) -> Response:
    """Stop a subscription; its deliveries stay readable."""
    platform.run(webhooks.delete_subscription, subscription_id)
    return Response(status_code=204)


@router.post("/webhooks/{subscription_id}/secret", response_model=SecretRotated)
def rotate_webhook_secret(subscription_id: SubscriptionId, request: Request, _: WebhooksAdmin,
                          platform: ActingPlatform) -> SecretRotated:
    """A new signing secret (shown once); the old one also signs for the grace period."""
    grace = int(_settings(request).webhooks_secret_grace_seconds * 1000)
    return SecretRotated.model_validate(platform.run(
        webhooks.rotate_secret, subscription_id, now_ms=_now(), grace_ms=grace))


@router.get("/webhooks/{subscription_id}/deliveries", response_model=DeliveryList)
def list_webhook_deliveries(subscription_id: SubscriptionId, _: WebhooksAdmin,
                            platform: PlatformDep, limit: Limit = 50,
                            offset: RowsToSkip = 0) -> DeliveryList:
    """A subscription's deliveries, newest first, each with its attempts (status, latency, error)."""
    return DeliveryList.model_validate({"items": platform.run(
        webhooks.list_deliveries, subscription_id, limit, offset)})


@router.post("/webhooks/{subscription_id}/deliveries/{delivery_id}/retry",
             response_model=DeliveryOut)
def retry_webhook_delivery(subscription_id: SubscriptionId, delivery_id: DeliveryId,
                           _: WebhooksAdmin, platform: ActingPlatform) -> DeliveryOut:
    """Send a delivery again now (re-enables a disabled subscription)."""
    return DeliveryOut.model_validate(platform.run(
        webhooks.retry_delivery, subscription_id, delivery_id, now_ms=_now()))
