"""improve"""
