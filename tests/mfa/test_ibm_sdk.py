"""IBM's own SDK reads the MFA report and status and sets the account's ``mfa``: all answered from the mfa app's
factors and policy (the account setting and the platform's policy are one setting)."""

import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import IamIdentityV1
from ibm_platform_services.iam_identity_v1 import ReportMfaEnrollmentStatus, UserMfaEnrollments

from clients import services as client_services
from ibmcloud.models import AccountSettings
from mfa import services
from tests.conftest import make_principal

from .helpers import enrol_totp

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def sdk_for(base, principal):
    _, value = client_services.create_api_key(None, principal, "sdk key")
    identity = IamIdentityV1(authenticator=IAMAuthenticator(value, url=base))
    identity.set_service_url(base)
    return identity


def test_the_report_and_status_answer_from_the_enrolled_factors(live_server):
    owner = make_principal(email="owner@example.com", roles=["system:owner"])
    identity = sdk_for(live_server.url, owner)
    account_id = AccountSettings.current().account_id
    with_app = make_principal(email="app@example.com")
    enrol_totp(with_app)
    without = make_principal(email="none@example.com")

    reference = identity.create_mfa_report(account_id=account_id, type="mfa_status").get_result()["reference"]
    report = identity.get_mfa_report(account_id=account_id, reference=reference).get_result()
    ReportMfaEnrollmentStatus.from_dict(report)  # the SDK's model accepts the shape
    users = {user["username"]: user for user in report["users"]}
    assert users["app@example.com"]["account_based_mfa"]["totp"]["enrolled"] is True
    assert users["none@example.com"]["account_based_mfa"]["totp"]["enrolled"] is False
    assert identity.get_mfa_report(account_id=account_id, reference="latest").get_result()["reference"] == reference

    status = identity.get_mfa_status(account_id=account_id, iam_id=with_app.iam_id).get_result()
    UserMfaEnrollments.from_dict(status)
    assert status["id_based_mfa"]["complies"] is True and status["id_based_mfa"]["trait_account_default"] == "NONE"

    # The account's mfa is the platform's policy: set through the IBM face, it applies to sign-in.
    etag = identity.get_account_settings(account_id=account_id).get_headers()["ETag"]
    identity.update_account_settings(account_id=account_id, if_match=etag, mfa="TOTP4ALL")
    assert services.policy().level == "TOTP4ALL"
    status = identity.get_mfa_status(account_id=account_id, iam_id=without.iam_id).get_result()
    assert status["id_based_mfa"]["trait_effective"] == "TOTP4ALL" and status["id_based_mfa"]["complies"] is False
    services.set_policy(None, level="LEVEL3")
    assert identity.get_account_settings(account_id=account_id).get_result()["mfa"] == "LEVEL3"

    with pytest.raises(ApiException) as missing:
        identity.get_mfa_status(account_id=account_id, iam_id="iam-nobody")
    assert missing.value.status_code == 404
    with pytest.raises(ApiException) as bad:
        identity.update_account_settings(account_id=account_id, if_match="*", mfa="SOMETIMES")
    assert bad.value.status_code == 400 and "mfa" in bad.value.message


def test_the_report_needs_the_read_permission(live_server):
    someone = make_principal(email="someone@example.com", permissions=["iam/apikeys:read"])
    identity = sdk_for(live_server.url, someone)
    account_id = AccountSettings.current().account_id
    for call, kwargs in ((identity.create_mfa_report, {}), (identity.get_mfa_report, {"reference": "latest"}),
                         (identity.get_mfa_status, {"iam_id": someone.iam_id})):
        with pytest.raises(ApiException) as refused:
            call(account_id=account_id, **kwargs)
        assert refused.value.status_code == 403
