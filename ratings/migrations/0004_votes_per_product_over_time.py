"""One vote per person per product, for ever; votes that keep their history over time.

- ``Vote.submitted_at`` (when the current scores were submitted or last confirmed), filled from the vote's
  history; revisions remember their campaign.
- Existing data may hold two votes by one person on one product (the bug this fixes: a re-invitation in a
  later campaign let them vote again). The newest stays; each older one becomes a revision of it, then goes.
- Campaigns "published" (never set by code) become "scored".
- ``VoteVerdictChange``, written by the triggers of the next migration.

Constraints and triggers come in 0005, in a transaction of their own: PostgreSQL refuses to alter a table
with row changes still waiting for deferred checks.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def fill_history(apps, schema_editor):
    Vote = apps.get_model("ratings", "Vote")
    VoteRevision = apps.get_model("ratings", "VoteRevision")
    Campaign = apps.get_model("ratings", "Campaign")
    Vote.objects.filter(revision_count=0).update(submitted_at=models.F("created_at"))
    Vote.objects.filter(revision_count__gt=0).update(submitted_at=models.F("updated_at"))
    VoteRevision.objects.filter(campaign__isnull=True).update(
        campaign_id=models.Subquery(Vote.objects.filter(pk=models.OuterRef("vote_id")).values("campaign_id")[:1])
    )
    Campaign.objects.filter(status="published").update(status="scored")


def fold_second_votes(apps, schema_editor):
    """Keep each person's newest vote on a product; older ones become its revisions and are removed."""
    Vote = apps.get_model("ratings", "Vote")
    VoteRevision = apps.get_model("ratings", "VoteRevision")
    FactorScore = apps.get_model("ratings", "FactorScore")
    twice = (
        Vote.objects.values("product_id", "user_id")
        .annotate(n=models.Count("id"))
        .filter(n__gt=1)
        .values_list("product_id", "user_id")
    )
    for product_id, user_id in list(twice):
        votes = list(Vote.objects.filter(product_id=product_id, user_id=user_id).order_by("-submitted_at", "-id"))
        kept, older = votes[0], votes[1:]
        for vote in older:
            VoteRevision.objects.create(
                vote=kept,
                campaign_id=vote.campaign_id,
                scores={str(f): s for f, s in FactorScore.objects.filter(vote=vote).values_list("factor_id", "score")},
                comment=vote.comment,
                seconds_to_fill=vote.seconds_to_fill,
                ip_hash=vote.ip_hash,
                user_agent_hash=vote.user_agent_hash,
                submitted_at=vote.submitted_at,
            )
            VoteRevision.objects.filter(vote=vote).update(vote=kept)
            vote.delete()
        Vote.objects.filter(pk=kept.pk).update(
            revision_count=VoteRevision.objects.filter(vote=kept).count(),
            created_at=min(v.created_at for v in votes),
        )


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0004_category_min_votes_to_publish_product_heart_rank_and_more'),
        ('ratings', '0003_vote_created_idx'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='VoteVerdictChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('verdict', models.CharField(choices=[('counted', 'Counted'), ('review', 'Held for review'), ('excluded', 'Excluded')], max_length=10)),
                ('exclusion_reason', models.CharField(blank=True, max_length=12)),
                ('changed_at', models.DateTimeField()),
            ],
            options={
                'verbose_name': 'verdict change',
                'verbose_name_plural': 'verdict changes',
                'ordering': ('vote_id', 'changed_at', 'id'),
            },
        ),
        migrations.RemoveConstraint(
            model_name='ratingpolicy',
            name='ratingpolicy_positive_figures',
        ),
        migrations.RemoveConstraint(
            model_name='vote',
            name='vote_one_per_user_and_campaign',
        ),
        migrations.RemoveIndex(
            model_name='vote',
            name='vote_not_counted_idx',
        ),
        migrations.AddField(
            model_name='ratingpolicy',
            name='min_account_days',
            field=models.PositiveSmallIntegerField(default=30, help_text='Only accounts at least this old are invited (besides being seen within the activity window).', verbose_name='experienced user: account age (days)'),
        ),
        migrations.AddField(
            model_name='ratingpolicy',
            name='score_window_days',
            field=models.PositiveSmallIntegerField(default=365, help_text="A product's score comes from the counted votes submitted or confirmed within this window, across all its campaigns: a new campaign adds votes, it never wipes the earlier ones.", verbose_name='score window (days)'),
        ),
        migrations.AddField(
            model_name='ratingpolicy',
            name='use_days',
            field=models.PositiveSmallIntegerField(default=14, help_text='Buyers are invited only once this many days have passed since payment, so they have tried it.', verbose_name='use period (days)'),
        ),
        migrations.AddField(
            model_name='vote',
            name='submitted_at',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='submitted or confirmed at'),
        ),
        migrations.AddField(
            model_name='voterevision',
            name='campaign',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='ratings.campaign'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='status',
            field=models.CharField(choices=[('open', 'Open'), ('closed', 'Closed'), ('scored', 'Scored'), ('cancelled', 'Cancelled')], default='open', max_length=10, verbose_name='status'),
        ),
        migrations.AddIndex(
            model_name='vote',
            index=models.Index(condition=models.Q(('verdict', 'counted'), _negated=True), fields=['product', 'id'], name='vote_not_counted_idx'),
        ),
        migrations.AddIndex(
            model_name='voterevision',
            index=models.Index(fields=['vote', 'submitted_at'], name='voterevision_vote_time_idx'),
        ),
        migrations.AddConstraint(
            model_name='ratingpolicy',
            constraint=models.CheckConstraint(condition=models.Q(('active_days__gte', 1), ('campaign_days__gte', 1), ('invitation_days__gte', 1), ('list_size__gte', 1), ('max_open_invitations__gte', 1), ('min_votes_to_publish__gte', 1), ('popularity_days__gte', 1), ('products_per_category__gte', 1), ('purchase_days__gte', 1), ('sales_days__gte', 1), ('score_window_days__gte', 1)), name='ratingpolicy_positive_figures'),
        ),
        migrations.AddField(
            model_name='voteverdictchange',
            name='vote',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='verdict_changes', to='ratings.vote'),
        ),
        migrations.AddIndex(
            model_name='voteverdictchange',
            index=models.Index(fields=['vote', 'changed_at'], name='verdictchange_vote_time_idx'),
        ),
        migrations.AddField(
            model_name='scoringrun',
            name='score_window_days',
            field=models.PositiveSmallIntegerField(blank=True, help_text='Votes submitted or confirmed within this many days before the cut-off counted.', null=True, verbose_name='score window (days)'),
        ),
        migrations.AlterField(
            model_name='scoringrun',
            name='data_cutoff',
            field=models.DateTimeField(help_text='Votes are read as they stood at this time: later votes, amendments and verdicts are not included.', verbose_name='data cut-off'),
        ),
    
        migrations.RunPython(fill_history, migrations.RunPython.noop),
        migrations.RunPython(fold_second_votes, migrations.RunPython.noop),
    ]
