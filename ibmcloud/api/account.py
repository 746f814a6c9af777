"""/v1/accounts/{account_id}/settings/identity (and its effective settings) and
/v1/accounts/{account_id}/settings/access_management: the account's settings."""

from .. import services
from .base import IF_MATCH, IBMView, account, ensure_account, history, ibm_operation, permissions
from .serializers import (AccessManagementSettingsSerializer, AccountSettingsSerializer, EffectiveSettingsSerializer,
                          HistoryQuerySerializer, UpdateAccessManagementSettingsSerializer,
                          UpdateAccountSettingsSerializer)

TAG = "Account Settings"


class AccountSettingsView(IBMView):
    """The identity settings of the installation's one account."""

    required_permissions = permissions(get="iam/account:read", put="iam/account:write")

    @ibm_operation("getAccountSettings", TAG, query=HistoryQuerySerializer, response=AccountSettingsSerializer)
    def get(self, request, account_id):
        ensure_account(account_id)
        row = account()
        trail = history(request, self.query(HistoryQuerySerializer)["include_history"], "accountSettings", row.pk)
        return self.respond(AccountSettingsSerializer, row, history=trail)

    @ibm_operation("updateAccountSettings", TAG, request=UpdateAccountSettingsSerializer, headers=[IF_MATCH],
                   response=AccountSettingsSerializer)
    def put(self, request, account_id):
        ensure_account(account_id)
        version = self.if_match()
        changes = self.body(UpdateAccountSettingsSerializer)
        ip = getattr(request._request, "client_ip", None) or request.META.get("REMOTE_ADDR")
        return self.respond(AccountSettingsSerializer,
                            services.update_account_settings(request.user, version, changes, client_ip=ip))


class EffectiveSettingsView(IBMView):
    """What is in force: the account's settings, IBM's defaults where one is NOT_SET."""

    required_permissions = permissions(get="iam/account:read")

    @ibm_operation("getEffectiveAccountSettings", TAG, query=HistoryQuerySerializer,
                   response=EffectiveSettingsSerializer)
    def get(self, request, account_id):
        ensure_account(account_id)
        row = account()
        trail = history(request, self.query(HistoryQuerySerializer)["include_history"], "accountSettings", row.pk)
        body = {"account_id": row.account_id, "effective": services.effective_settings(row), "account": row}
        response = self.respond(EffectiveSettingsSerializer, body, history=trail)
        response["ETag"] = str(row.version)
        return response


class AccessManagementSettingsView(IBMView):
    """IBM's access-management settings: how identities of other accounts may interact with this one."""

    required_permissions = permissions(get="iam/account:read", patch="iam/account:write")

    def answer(self, row):
        response = self.respond(AccessManagementSettingsSerializer,
                                {"external_account_identity_interaction": services.interaction(row)})
        response["ETag"] = str(row.version)
        return response

    @ibm_operation("getSettings", TAG, response=AccessManagementSettingsSerializer)
    def get(self, request, account_id):
        ensure_account(account_id)
        return self.answer(account())

    @ibm_operation("updateSettings", TAG, request=UpdateAccessManagementSettingsSerializer, headers=[IF_MATCH],
                   response=AccessManagementSettingsSerializer)
    def patch(self, request, account_id):
        ensure_account(account_id)
        version = self.if_match()
        data = self.body(UpdateAccessManagementSettingsSerializer)
        return self.answer(services.update_access_management(request.user, version,
                                                             data["external_account_identity_interaction"]))
