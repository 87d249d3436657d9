"""The customer's account as the app reads it: balances, instalments due and the statement."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from portal.payments.models import Instalment


class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField(source="account.currency")
    due_now = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text=_("Owed today (negative: credit in your favour).")
    )
    scheduled = serializers.DecimalField(max_digits=16, decimal_places=2, help_text=_("Falls due later."))
    balance = serializers.DecimalField(max_digits=16, decimal_places=2, help_text=_("Due now plus scheduled."))
    overdue = serializers.DecimalField(max_digits=16, decimal_places=2)
    overdue_count = serializers.IntegerField()
    credit = serializers.DecimalField(max_digits=16, decimal_places=2)


class InstalmentSerializer(serializers.ModelSerializer):
    policy_number = serializers.CharField(source="policy.number")
    product = serializers.CharField(source="policy.product.name")
    outstanding = serializers.DecimalField(max_digits=16, decimal_places=2)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Instalment
        fields = ["id", "policy", "policy_number", "product", "sequence", "due_date", "currency", "amount"]
        fields += ["amount_paid", "outstanding", "overdue"]
        read_only_fields = fields

    def get_overdue(self, instalment) -> bool:
        return instalment.is_overdue(self.context["today"])


class AccountSerializer(serializers.Serializer):
    balances = BalanceSerializer(many=True, help_text=_("One per currency you have policies in."))
    next_instalments = InstalmentSerializer(many=True, help_text=_("The next open instalments, overdue first."))


class StatementLineSerializer(serializers.Serializer):
    date = serializers.DateField(source="entry.posted_on")
    kind = serializers.CharField(source="entry.kind")
    description = serializers.CharField()
    debit = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    credit = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    balance = serializers.DecimalField(max_digits=16, decimal_places=2, help_text=_("The balance after this entry."))


class StatementSerializer(serializers.Serializer):
    currency = serializers.CharField()
    start = serializers.DateField(source="statement.start")
    end = serializers.DateField(source="statement.end")
    opening = serializers.DecimalField(max_digits=16, decimal_places=2, source="statement.opening")
    closing = serializers.DecimalField(max_digits=16, decimal_places=2, source="statement.closing")
    debits = serializers.DecimalField(max_digits=16, decimal_places=2, source="statement.debits")
    credits = serializers.DecimalField(max_digits=16, decimal_places=2, source="statement.credits")
    count = serializers.IntegerField(help_text=_("Entries in the period."))
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = StatementLineSerializer(many=True)
