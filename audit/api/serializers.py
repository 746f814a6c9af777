"""The event JSON of /resources/audit/events (camelCase)."""

from rest_framework import serializers

from ..models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    actorType = serializers.CharField(source="actor_type", read_only=True)
    targetType = serializers.CharField(source="target_type", read_only=True)
    targetId = serializers.CharField(source="target_id", read_only=True)
    targetName = serializers.CharField(source="target_repr", read_only=True)
    requestId = serializers.CharField(source="request_id", read_only=True)
    ip = serializers.SerializerMethodField()
    userAgent = serializers.CharField(source="user_agent", read_only=True)
    prevHash = serializers.CharField(source="prev_hash", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ("id", "seq", "at", "actor", "actorType", "action", "targetType", "targetId", "targetName",
                  "changes", "details", "requestId", "ip", "userAgent", "lane", "position", "hash", "prevHash")
        read_only_fields = fields

    def get_ip(self, event) -> str | None:
        return event.ip or None


FIELDS = AuditEventSerializer.Meta.fields


def event_row(event):
    """The same representation for the export, without DRF's per-object overhead."""
    return {
        "id": str(event.uuid), "seq": event.seq, "at": event.at.isoformat().replace("+00:00", "Z"),
        "actor": event.actor, "actorType": event.actor_type, "action": event.action,
        "targetType": event.target_type, "targetId": event.target_id, "targetName": event.target_repr,
        "changes": event.changes, "details": event.details, "requestId": event.request_id,
        "ip": event.ip or None, "userAgent": event.user_agent, "lane": event.lane,
        "position": event.position, "hash": event.hash, "prevHash": event.prev_hash,
    }
