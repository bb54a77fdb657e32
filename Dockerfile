FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=config.settings.production
WORKDIR /app

COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir -e . && useradd --system --home /app uplift
COPY . .
RUN SECRET_KEY=collectstatic python manage.py collectstatic --noinput

USER uplift
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2"]
