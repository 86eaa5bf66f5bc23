"""The photos app's models as state only: 0002 creates their tables, or adopts the tables that the same
models had when they lived in the old `recommender` Django app (databases made before the move)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('catalogue', '0002_track_audio'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
        migrations.CreateModel(
            name='Photo',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('image', models.ImageField(height_field='height', upload_to='photos/', width_field='width')),
                ('sha256', models.CharField(db_index=True, max_length=64)),
                ('width', models.PositiveIntegerField(default=0)),
                ('height', models.PositiveIntegerField(default=0)),
                ('original_name', models.CharField(blank=True, max_length=255)),
                ('embedding', models.BinaryField(blank=True, null=True)),
                ('embedding_model', models.CharField(blank=True, max_length=100)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='photos', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='Run',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('pending', 'Waiting for a worker'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], db_index=True, default='pending', max_length=8)),
                ('mode', models.CharField(choices=[('match', 'Match the mood'), ('lift', 'Lift the mood')], default='match', max_length=8)),
                ('top_k', models.PositiveSmallIntegerField(default=10)),
                ('context', models.CharField(blank=True, help_text='Words the user added about the photo.', max_length=500)),
                ('valence', models.FloatField(blank=True, null=True)),
                ('arousal', models.FloatField(blank=True, null=True)),
                ('emotions', models.JSONField(blank=True, default=dict)),
                ('descriptors', models.JSONField(blank=True, default=list)),
                ('mood_summary', models.CharField(blank=True, max_length=200)),
                ('engine_version', models.CharField(blank=True, max_length=100)),
                ('catalogue_version', models.CharField(blank=True, max_length=100)),
                ('error', models.TextField(blank=True, help_text='Why the run failed, in words a user can read.')),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('worker', models.CharField(blank=True, max_length=200)),
                ('dispatched_at', models.DateTimeField(blank=True, help_text='When the task reached the broker.', null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('photo', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='photos.photo')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runs', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='RunItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rank', models.PositiveSmallIntegerField()),
                ('score', models.FloatField()),
                ('strategy_scores', models.JSONField(default=dict)),
                ('reasons', models.JSONField(default=list)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='photos.run')),
                ('track', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalogue.track')),
            ],
            options={
                'ordering': ['run', 'rank'],
            },
        ),
        migrations.CreateModel(
            name='Feedback',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rating', models.SmallIntegerField(choices=[(-1, 'Not for this photo'), (1, 'Fits')])),
                ('photo_valence', models.FloatField(blank=True, null=True)),
                ('photo_arousal', models.FloatField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('track', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalogue.track')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='feedback', to=settings.AUTH_USER_MODEL)),
                ('item', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='feedback', to='photos.runitem')),
            ],
            options={
                'ordering': ['-updated_at'],
            },
        ),
        migrations.AddConstraint(
            model_name='photo',
            constraint=models.UniqueConstraint(fields=('owner', 'sha256'), name='unique_photo_per_owner'),
        ),
        migrations.AddIndex(
            model_name='run',
            index=models.Index(fields=['status', 'dispatched_at'], name='photos_run_status_546e83_idx'),
        ),
        migrations.AddConstraint(
            model_name='runitem',
            constraint=models.UniqueConstraint(fields=('run', 'rank'), name='unique_rank_per_run'),
        ),
        migrations.AddConstraint(
            model_name='feedback',
            constraint=models.UniqueConstraint(fields=('user', 'item'), name='one_rating_per_item'),
        ),
            ]),
    ]
