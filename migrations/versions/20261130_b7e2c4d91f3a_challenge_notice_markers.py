"""challenge notice markers for background jobs

Revision ID: b7e2c4d91f3a
Revises: 53b615d8a43e
Create Date: 2026-11-30 05:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e2c4d91f3a'
down_revision = '53b615d8a43e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('challenge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deadline_notified_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('award_final_notified_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('challenge', schema=None) as batch_op:
        batch_op.drop_column('award_final_notified_at')
        batch_op.drop_column('deadline_notified_at')
